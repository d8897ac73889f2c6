// issue 21 point 1, through real processes: `fleet-ota broker` and `fleet-ota serve` as child
// processes, real device agents in this process. A device whose storage is reset mid-rollout
// (factory record, seq back to 1) starts a new status epoch and completes the rollout; a reset
// device that keeps its old epoch (a port without epochs) is refused `stale`, and the refusal is
// counted and shown on the device (until its seq passes the old one) instead of dropped in silence.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64url } from '../../../protocol/index.js';
import { provisionDevice, type DeviceRecord } from '../../../device-sim/agent/index.js';
import { connectFleet, provisionFleet, type FleetHandle, type ProvisionedFleet, type SimDevice } from '../../../device-sim/sim/index.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../../support/process-stack.js';
import type { DeviceRecord as RegistryRecord } from '../../../state/device-record.js';
import { ReportLog } from '../support/report-log.js';
import { rolloutDevices, waitUntil } from '../support/stack-probes.js';

const WAIT_MS = 60_000;
const fleets: FleetHandle[] = [];
let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ prefix: `test:faults:reset:${randomBytes(6).toString('hex')}:` });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

async function connect(fleet: ProvisionedFleet, devices: SimDevice[], log: ReportLog): Promise<FleetHandle> {
  const handle = await connectFleet({ ...fleet, devices }, { brokerUrl: stack.brokerUrl, connectConcurrency: 5, onReport: log.record });
  fleets.push(handle);
  return handle;
}

/** What a factory reset leaves: the provisioned key and trust anchor, nothing else. */
function factoryRecord(old: DeviceRecord): DeviceRecord {
  return provisionDevice({ deviceId: old.deviceId, secretKey: fromBase64url(old.secretKey)!, vendorId: old.vendorId, classId: old.classId, root: stack.root }, fleetEd25519);
}
let fleetEd25519: ProvisionedFleet['ed25519'];

describe('a device storage reset mid-rollout', () => {
  it('a reset device starts a new epoch and completes; one that keeps its old epoch is refused visibly', async () => {
    const fleet = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 7, count: 2, idPrefix: 'reset-', profiles: 'slow-network' });
    fleetEd25519 = fleet.ed25519;
    await stack.registerDevices(fleet.devices);
    const [fresh, legacy] = fleet.devices as [SimDevice, SimDevice];
    const log = new ReportLog();
    // Life 1, on a slow network (256 KiB at 32 KiB/s): the reset comes while it downloads.
    const life1 = await connect(fleet, [...fleet.devices], log);
    const { releaseId } = await stack.publishRelease({ releaseId: `rel-reset-${randomBytes(3).toString('hex')}`, version: '2.0.0', sequence: 2, payload: new Uint8Array(randomBytes(256 * 1024)) });
    const created = await stack.createRollout({ releaseId, target: { deviceIds: [fresh.id, legacy.id] }, waves: [{ percent: 100, deviceTimeoutSeconds: 600 }] });
    await waitUntil(async () => {
      const entries = await rolloutDevices(stack.api, created.id);
      return [fresh.id, legacy.id].every((id) => entries.get(id)?.state === 'downloading');
    }, WAIT_MS, 'both devices downloading');
    await life1.stop();
    const lifeOneReports = log.of(legacy.id, created.id).length;
    const before = { fresh: (await fleet.store.load(fresh.id))!, legacy: (await fleet.store.load(legacy.id))! };
    expect(before.fresh.statusSeq).toBeGreaterThan(1);
    // The epoch is whole seconds: a real reset takes longer than one.
    await new Promise((resolve) => setTimeout(resolve, 1_100));

    // Factory reset: counter 0, seq 0, no job. The legacy device keeps its old epoch, as a port
    // that restarts seq without an epoch would.
    await fleet.store.save(factoryRecord(before.fresh));
    await fleet.store.save({ ...factoryRecord(before.legacy), epoch: before.legacy.epoch! });
    const life2 = await connect(fleet, fleet.devices.map((d) => ({ ...d, profile: 'healthy' as const })), log);

    await waitUntil(async () => (await rolloutDevices(stack.api, created.id)).get(fresh.id)?.state === 'succeeded', WAIT_MS, 'the reset device succeeds');
    const freshReports = log.of(fresh.id, created.id);
    const reborn = freshReports.filter((r) => r.epoch !== before.fresh.epoch);
    // Its second life restarted seq at 1 under a later epoch, and that is what the orchestrator applied.
    expect(reborn[0]).toMatchObject({ seq: 1, state: 'accepted' });
    expect(reborn[0]!.epoch!).toBeGreaterThan(before.fresh.epoch!);
    expect(reborn.at(-1)).toMatchObject({ state: 'succeeded' });
    const freshView = await stack.api<RegistryRecord>('GET', `/v1/devices/${fresh.id}`);
    expect(freshView.statusEpoch).toBe(reborn[0]!.epoch);
    expect(freshView.statusRefusedCount).toBeUndefined();

    // The legacy device finished too, as far as it knows, but nothing it said after the reset counted.
    await waitUntil(() => life2.runtimes.find((r) => r.id === legacy.id)!.agent.lastState === 'succeeded', WAIT_MS, 'the legacy device believes it succeeded');
    await waitUntil(async () => ((await stack.api<RegistryRecord>('GET', `/v1/devices/${legacy.id}`)).statusRefusedCount ?? 0) >= 1, WAIT_MS, 'the refusal shown on the device');
    const legacyView = await stack.api<RegistryRecord>('GET', `/v1/devices/${legacy.id}`);
    expect(legacyView.statusRefused).toMatchObject({ reason: 'stale', rolloutId: created.id, epoch: before.legacy.epoch, lastEpoch: before.legacy.epoch });
    // Every report of its second life up to the seq its first life reached was refused, one count each.
    const lifeOneSeq = legacyView.statusRefused!.lastSeq;
    expect(legacyView.statusRefused!.seq).toBeLessThanOrEqual(lifeOneSeq);
    const lifeTwo = log.of(legacy.id, created.id).slice(lifeOneReports);
    expect(lifeTwo[0]).toMatchObject({ seq: 1, epoch: before.legacy.epoch });
    expect(legacyView.statusRefusedCount).toBe(lifeTwo.filter((r) => r.seq <= lifeOneSeq).length);
  }, 150_000);
});
