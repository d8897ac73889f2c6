// Fault: one node of a two-node broker cluster over Redis is SIGKILLed mid-rollout and restarted
// on the same port (issue 12, parts 1 and 3). Both nodes and `fleet-ota serve` run as child
// processes; the killed node holds the orchestrator's intake session and half of the 40
// slow-network devices. While it is down, devices on the other node keep reporting into the
// intake's persistent session (shared through Redis); its own devices reconnect to it when it
// is back. The rollout must finish with exact counts and every acknowledged report applied.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle } from '../../../device-sim/sim/index.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../../support/process-stack.js';
import { AckLog } from '../support/ack-log.js';
import { expectAcknowledgedApplied } from '../support/expect-acknowledged.js';
import { ReportLog } from '../support/report-log.js';
import { freePort, rolloutDevices, waitUntil } from '../support/stack-probes.js';

const TEST_TIMEOUT_MS = 150_000;
const PER_NODE = 20;
/** About 4 s of download at slow-network's 32 KiB/s: the wave is in flight when the node dies. */
const ARTIFACT_BYTES = 128 * 1024;

let stack: ProcessStack;
let nodeBUrl: string;
const fleets: FleetHandle[] = [];

beforeAll(async () => {
  const [portA, portB, httpPort] = [await freePort(), await freePort(), await freePort()];
  const run = randomBytes(6).toString('hex');
  stack = await startProcessStack({
    prefix: `test:fault-cluster:${run}:`,
    // Node A (the stack's broker, which the orchestrator uses) on a fixed port so it can come back there.
    brokerEnv: { FLEET_BROKER_PORT: String(portA), FLEET_BROKER_CLUSTER: 'redis', FLEET_BROKER_ID: `node-a-${run}` },
    orchestratorEnv: { FLEET_HTTP_PORT: String(httpPort) },
  });
  nodeBUrl = (await stack.startBroker({ FLEET_BROKER_PORT: String(portB), FLEET_BROKER_ID: `node-b-${run}` })).url;
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

describe('two-node broker cluster, one node SIGKILLed mid-rollout', () => {
  it('finishes with exact counts; every acknowledged report is applied', async () => {
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 41, count: 2 * PER_NODE, idPrefix: 'cl-', profiles: 'slow-network' });
    await stack.registerDevices(provisioned.devices);
    const everyone = provisioned.devices.map((d) => d.id);
    const log = new ReportLog();
    const acks = new AckLog();
    const onA = await connectFleet({ ...provisioned, devices: provisioned.devices.slice(0, PER_NODE) }, { brokerUrl: stack.brokerUrl, connectConcurrency: PER_NODE });
    const onB = await connectFleet({ ...provisioned, devices: provisioned.devices.slice(PER_NODE) }, { brokerUrl: nodeBUrl, connectConcurrency: PER_NODE });
    for (const fleet of [onA, onB]) {
      fleets.push(fleet);
      expect(fleet.connected()).toBe(PER_NODE);
      log.attach(fleet);
      acks.attach(fleet);
    }

    const release = await stack.publishRelease({ releaseId: 'cl-rel-1', version: '1.1.0', sequence: 1, payload: new Uint8Array(randomBytes(ARTIFACT_BYTES)) });
    const rolloutId = 'cl-restart';
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone } });
    await waitUntil(() => everyone.every((id) => log.of(id, rolloutId).some((r) => r.state === 'downloading')), 60_000, 'every device downloading');
    const before = await rolloutDevices(stack.api, rolloutId);
    expect([...before.values()].filter((e) => e.state === 'succeeded')).toHaveLength(0);

    const victim = stack.broker;
    await stack.restartBroker();
    expect(victim.process.signalCode).toBe('SIGKILL');

    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 90_000);
    expect(done.counts).toEqual({ succeeded: 2 * PER_NODE });
    expect(log.lastStates(rolloutId, everyone)).toEqual({ succeeded: 2 * PER_NODE });
    await expectAcknowledgedApplied(stack, rolloutId, [onA, onB], acks, done);
  }, TEST_TIMEOUT_MS);
});
