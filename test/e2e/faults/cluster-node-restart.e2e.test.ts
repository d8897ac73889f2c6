// Fault: a two-node broker cluster over Redis (issue 12 parts 1 and 3, issue 15 part 4) with,
// mid-rollout, a clean restart of node B (SIGTERM, started again under the same id) and then a
// SIGKILL of node A, restarted on its port under the same id. Both nodes and `fleet-ota serve`
// run as child processes; the 40 slow-network devices are given both nodes and fail over. Two
// more devices ("lost") sit on node A only and vanish with it, never to come back.
// Afterwards: exact counts, every acknowledged report applied, and presence exact: the 40
// connected devices `online` (retained, and in the orchestrator's registry), the 2 lost ones
// `offline` (their wills, swept by lease once A's killed run stopped renewing it).
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle } from '../../../device-sim/sim/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import { buildConnectToken, encodePublicKey } from '../../../protocol/index.js';
import { willRunsKey } from '../../../state/mqtt-wills/index.js';
import { startProcessStack, type ChildHandle, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../../support/process-stack.js';
import { AckLog } from '../support/ack-log.js';
import { expectAcknowledgedApplied } from '../support/expect-acknowledged.js';
import { ReportLog } from '../support/report-log.js';
import { retainedPresence } from '../support/retained-presence.js';
import { freePort, registryRecords, waitUntil } from '../support/stack-probes.js';

const TEST_TIMEOUT_MS = 180_000;
const DEVICES = 40;
const LOST = 2;
/** About 6 s of download at slow-network's 32 KiB/s: the wave is in flight through both faults. */
const ARTIFACT_BYTES = 192 * 1024;
/** Short lease, so the killed run's wills are swept within seconds (default 15 s). */
const NODE_LEASE_MS = 2_000;

let stack: ProcessStack;
let run: string;
let portB: number;
let nodeB: { child: ChildHandle; url: string };
const fleets: FleetHandle[] = [];
const lostClients: MqttClient[] = [];

beforeAll(async () => {
  const [portA, httpPort] = [await freePort(), await freePort()];
  portB = await freePort();
  run = randomBytes(6).toString('hex');
  stack = await startProcessStack({
    prefix: `test:fault-cluster:${run}:`,
    // Node A (the stack's broker, which the orchestrator uses) on a fixed port so it can come back there.
    brokerEnv: { FLEET_BROKER_PORT: String(portA), FLEET_BROKER_CLUSTER: 'redis', FLEET_BROKER_ID: `node-a-${run}`, FLEET_BROKER_NODE_LEASE_MS: String(NODE_LEASE_MS) },
    orchestratorEnv: { FLEET_HTTP_PORT: String(httpPort) },
  });
  nodeB = await stack.startBroker({ FLEET_BROKER_PORT: String(portB), FLEET_BROKER_ID: `node-b-${run}` });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  for (const client of lostClients) client.end(true);
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

/** Devices that connect to node A only, with no reconnect: they are gone when A dies. */
async function connectLost(): Promise<string[]> {
  const devices = Array.from({ length: LOST }, (_, i) => ({ id: `cl-lost-${i}`, key: generateSigningKey() }));
  await stack.registerDevices(devices.map((d) => ({ id: d.id, publicKey: encodePublicKey(d.key.publicKey) })));
  for (const device of devices) {
    const password = buildConnectToken(device.id, device.key.secretKey, Math.floor(Date.now() / 1000), 3600, nodeEd25519);
    lostClients.push(await mqtt.connectAsync(stack.brokerUrl, { clientId: device.id, username: device.id, password, reconnectPeriod: 0, clean: true }));
  }
  return devices.map((d) => d.id);
}

describe('two-node broker cluster: node B restarted, node A SIGKILLed, mid-rollout', () => {
  it('finishes with exact counts, every acknowledged report applied, presence exact afterwards', async () => {
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 41, count: DEVICES, idPrefix: 'cl-', profiles: 'slow-network' });
    await stack.registerDevices(provisioned.devices);
    const everyone = provisioned.devices.map((d) => d.id);
    const lost = await connectLost();
    const log = new ReportLog();
    const acks = new AckLog();
    // Each device starts on one of the two nodes at random and moves to the other when its node goes.
    const fleet = await connectFleet(provisioned, { brokerUrl: [stack.brokerUrl, nodeB.url], connectConcurrency: DEVICES });
    fleets.push(fleet);
    expect(fleet.connected()).toBe(DEVICES);
    log.attach(fleet);
    acks.attach(fleet);
    await waitUntil(async () => [...(await registryRecords(stack.api, [...everyone, ...lost])).values()].every((r) => r.presence === 'online'), 20_000, 'everyone online');

    const release = await stack.publishRelease({ releaseId: 'cl-rel-1', version: '1.1.0', sequence: 1, payload: new Uint8Array(randomBytes(ARTIFACT_BYTES)) });
    const rolloutId = 'cl-restart';
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone } });
    await waitUntil(() => everyone.every((id) => log.of(id, rolloutId).some((r) => r.state === 'downloading')), 60_000, 'every device downloading');

    // Clean restart of B: it says `offline` for its devices, which move to A (or back to B).
    await nodeB.child.stop();
    nodeB = await stack.startBroker({ FLEET_BROKER_PORT: String(portB), FLEET_BROKER_ID: `node-b-${run}` });
    // Crash of A: the lost devices' connections die with it; the others move to B (or back to A).
    const victim = stack.broker;
    await stack.restartBroker();
    expect(victim.process.signalCode).toBe('SIGKILL');

    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 120_000);
    expect(done.counts).toEqual({ succeeded: DEVICES });
    expect(log.lastStates(rolloutId, everyone)).toEqual({ succeeded: DEVICES });
    await expectAcknowledgedApplied(stack, rolloutId, [fleet], acks, done);

    // Presence: the killed run's lease runs out and a node publishes the wills it left (the
    // lost devices'; the others' were overridden when they reconnected). Then no run is dead.
    const runsKey = willRunsKey(`${stack.prefix}mqtt:`);
    const expected = Object.fromEntries([...everyone.map((id) => [id, 'online']), ...lost.map((id) => [id, 'offline'])]);
    const registryPresence = async () => Object.fromEntries([...(await registryRecords(stack.api, Object.keys(expected))).values()].map((r) => [r.id, r.presence]));
    await waitUntil(async () => JSON.stringify(await registryPresence()) === JSON.stringify(expected), 30_000, 'registry presence exact');
    await waitUntil(async () => (await stack.redis.zcard(runsKey)) === 2, 10_000, 'only the two live runs listed');
    expect(fleet.connected()).toBe(DEVICES);
    // Still exact a lease and a sweep later (a late sweep would flip live devices `offline`).
    await new Promise((resolve) => setTimeout(resolve, NODE_LEASE_MS * 2));
    expect(await registryPresence()).toEqual(expected);
    expect(Object.fromEntries(await retainedPresence(stack, Object.keys(expected)))).toEqual(expected);
  }, TEST_TIMEOUT_MS);
});
