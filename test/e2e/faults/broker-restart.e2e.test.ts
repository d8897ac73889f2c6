// Fault: the single-node broker is SIGKILLed mid-wave and restarted on the same port (issue 12,
// part 1). `fleet-ota broker` and `fleet-ota serve` run as child processes, 30 slow-network
// devices in this process. Devices keep downloading through the outage and flush their outboxes
// when they reconnect, often before the orchestrator's intake session is back: the broker must
// have kept that session (Redis persistence) and queued what it acknowledged. Three devices are
// offline from before the directive until after the restart: they find it retained. A device
// connected when the broker dies and never back is `offline` afterwards; the others `online`.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle } from '../../../device-sim/sim/index.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../../support/process-stack.js';
import { AckLog } from '../support/ack-log.js';
import { ReportLog } from '../support/report-log.js';
import { retainedPresence } from '../support/retained-presence.js';
import { freePort, rolloutDevices, waitUntil } from '../support/stack-probes.js';
import { expectAcknowledgedApplied } from '../support/expect-acknowledged.js';

const TEST_TIMEOUT_MS = 150_000;
const DEVICES = 30;
const OFFLINE = 3;
/** About 4 s of download at slow-network's 32 KiB/s: the wave is in flight when the broker dies. */
const ARTIFACT_BYTES = 128 * 1024;

let stack: ProcessStack;
const fleets: FleetHandle[] = [];

beforeAll(async () => {
  const [brokerPort, httpPort] = [await freePort(), await freePort()];
  stack = await startProcessStack({
    prefix: `test:fault-broker:${randomBytes(6).toString('hex')}:`,
    // A fixed port, so the restarted broker is where devices and the orchestrator reconnect.
    brokerEnv: { FLEET_BROKER_PORT: String(brokerPort) },
    orchestratorEnv: { FLEET_HTTP_PORT: String(httpPort) },
  });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

describe('single-node broker SIGKILL mid-wave', () => {
  it('loses no acknowledged report, and a device offline across the restart still gets its retained directive', async () => {
    const all = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 31, count: DEVICES + 1, idPrefix: 'bk-', profiles: 'slow-network' });
    await stack.registerDevices(all.devices);
    // One device outside the rollout, connected when the broker dies, that never comes back.
    const stranded = await connectFleet({ ...all, devices: all.devices.slice(DEVICES) }, { brokerUrl: stack.brokerUrl });
    fleets.push(stranded);
    const provisioned = { ...all, devices: all.devices.slice(0, DEVICES) };
    const everyone = provisioned.devices.map((d) => d.id);
    const log = new ReportLog();
    const acks = new AckLog();
    const fleet = await connectFleet(provisioned, { brokerUrl: stack.brokerUrl, connectConcurrency: DEVICES });
    fleets.push(fleet);
    expect(fleet.connected()).toBe(DEVICES);
    log.attach(fleet);
    acks.attach(fleet);
    const offline = fleet.runtimes.slice(0, OFFLINE);
    const online = fleet.runtimes.slice(OFFLINE).map((r) => r.id);
    for (const runtime of offline) runtime.transport.suspend();

    const release = await stack.publishRelease({ releaseId: 'bk-rel-1', version: '1.1.0', sequence: 1, payload: new Uint8Array(randomBytes(ARTIFACT_BYTES)) });
    const rolloutId = 'bk-restart';
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone } });
    // Every online device is downloading: the wave is in flight.
    await waitUntil(() => online.every((id) => log.of(id, rolloutId).some((r) => r.state === 'downloading')), 60_000, 'every online device downloading');
    const before = await rolloutDevices(stack.api, rolloutId);
    expect([...before.values()].filter((e) => e.state === 'succeeded')).toHaveLength(0);

    const victim = stack.broker;
    await victim.kill();
    expect(victim.process.signalCode).toBe('SIGKILL');
    await stranded.stop();
    await stack.restartBroker();
    for (const runtime of offline) runtime.transport.resume();

    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 90_000);
    expect(done.counts).toEqual({ succeeded: DEVICES });
    expect(log.lastStates(rolloutId, everyone)).toEqual({ succeeded: DEVICES });
    // The devices offline across the restart got the directive (retained) and updated.
    for (const runtime of offline) expect(log.of(runtime.id, rolloutId).map((r) => r.state)).toContain('succeeded');
    await expectAcknowledgedApplied(stack, rolloutId, [fleet], acks, done);
    // The will of the connection lost in the crash went out when the broker came back, before
    // any device reconnected: the stranded device is offline, every other one online.
    const presence = await retainedPresence(stack, [...everyone, stranded.runtimes[0]!.id]);
    expect(presence.get(stranded.runtimes[0]!.id)).toMatch(/offline/);
    expect(everyone.filter((id) => !/online/.test(presence.get(id) ?? ''))).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
