// A second deployment on a standard broker (issue 15 part 2): Mosquitto 2.x set up with
// `fleet-ota certs` (device CA, certificate listener, per-device ACL, password service listener),
// `fleet-ota serve` as a child process on its service listener, and simulated devices that
// connect with X.509 certificates over their own device keys. A staged rollout ends with exact
// counts, and every report a device had acknowledged is applied.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePublicKey } from '../../protocol/index.js';
import { connectFleet, provisionFleet, type FleetHandle } from '../../device-sim/sim/index.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../support/process-stack.js';
import { AckLog } from './support/ack-log.js';
import { expectAcknowledgedApplied } from './support/expect-acknowledged.js';
import { rolloutDevices } from './support/stack-probes.js';

const DEVICES = 40;
let stack: ProcessStack;
let fleet: FleetHandle | undefined;

beforeAll(async () => {
  stack = await startProcessStack({ prefix: `test:mosquitto:${randomBytes(6).toString('hex')}:`, broker: 'mosquitto' });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await fleet?.stop();
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

describe('fleet-ota on Mosquitto with device certificates', () => {
  it('rolls a release out in two waves to devices that authenticate by certificate, with exact counts', async () => {
    const tls = stack.deviceTls!;
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 17, count: DEVICES, idPrefix: 'mq-', profiles: 'healthy:90,install-failure:10' });
    await stack.registerDevices(provisioned.devices);
    const certificates = new Map<string, string>();
    for (const d of provisioned.devices) certificates.set(d.id, await tls.certificateOf(d.id, decodePublicKey(d.publicKey)!));
    fleet = await connectFleet(provisioned, { brokerUrl: stack.brokerUrl, tls: { ca: tls.ca }, certificateOf: (id) => certificates.get(id), connectConcurrency: DEVICES });
    expect(fleet.connected()).toBe(DEVICES);
    const acks = new AckLog();
    acks.attach(fleet);

    const release = await stack.publishRelease({ releaseId: 'mq-rel-1', version: '2.0.0', sequence: 1 });
    const rolloutId = 'mq-rollout';
    // Thresholds that let the deliberate install failures through: this test is about the broker, not the gates.
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: provisioned.devices.map((d) => d.id) },
      waves: [{ count: 8, failureThreshold: 1, successThreshold: 0 }, { percent: 100, failureThreshold: 1, successThreshold: 0 }] });
    const view = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 120_000);

    const failing = provisioned.devices.filter((d) => d.profile === 'install-failure').length;
    expect(view.counts.succeeded).toBe(DEVICES - failing);
    expect(view.counts.failed ?? 0).toBe(failing);
    const entries = await rolloutDevices(stack.api, rolloutId);
    for (const d of provisioned.devices) expect(entries.get(d.id)?.state, d.id).toBe(d.profile === 'install-failure' ? 'failed' : 'succeeded');
    // What each device saw acknowledged by Mosquitto is what the orchestrator holds.
    await expectAcknowledgedApplied(stack, rolloutId, [fleet], acks, view);
  }, 180_000);
});
