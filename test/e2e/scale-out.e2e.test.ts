// Several orchestrators on one broker and one Redis, as deployed (`fleet-ota broker` and two
// `fleet-ota serve` child processes): the broker writes each report once to its device's intake
// shard, and the two orchestrators split the shards between them, so every report is applied
// once, in its device's order (README: Reliability). One orchestrator SIGKILLed mid-wave: the
// other takes its shards once their leases run out, applies what it left pending, and the rollout
// finishes with exact counts. An artifact uploaded through one is served, Range included, by
// the other (one FLEET_DATA_DIR: a signed payload URI may name either).
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle, type ProvisionedFleet } from '../../device-sim/sim/index.js';
import { createApiClient, uploadArtifact } from '../../api-client/index.js';
import { startProcessStack, type ChildHandle, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../support/process-stack.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import { DEFAULT_INTAKE_SHARDS, ingestOutcomesKey, intakeLeaseKey } from '../../state/intake/index.js';
import { ReportLog } from './support/report-log.js';
import { rolloutDevices, tallyStates, waitUntil } from './support/stack-probes.js';

const TEST_TIMEOUT_MS = 150_000;
/** The orchestrators' default lease (orchestrator/ingestion/consumer.ts): a dead member's shards wait this long at most. */
const LEASE_MS = 5_000;

let stack: ProcessStack;
let second: { child: ChildHandle; url: string };
const fleets: FleetHandle[] = [];

beforeAll(async () => {
  stack = await startProcessStack({ prefix: `test:e2e-scale:${randomBytes(6).toString('hex')}:` });
  second = await stack.addOrchestrator();
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

async function connect(fleet: ProvisionedFleet, log: ReportLog): Promise<FleetHandle> {
  const handle = await connectFleet(fleet, { brokerUrl: stack.brokerUrl, connectConcurrency: 50, onReport: log.record });
  fleets.push(handle);
  expect(handle.connected()).toBe(fleet.devices.length);
  return handle;
}

async function outcomes(): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await stack.redis.hgetall(ingestOutcomesKey(stack.prefix))).map(([k, v]) => [k, Number(v)]));
}

/** Who holds each intake shard's lease now. */
async function leaseHolders(): Promise<Array<string | null>> {
  return Promise.all(Array.from({ length: DEFAULT_INTAKE_SHARDS }, (_, shard) => stack.redis.get(intakeLeaseKey(stack.prefix, shard))));
}

function totalReports(log: ReportLog, deviceIds: readonly string[], rolloutId: string): number {
  return deviceIds.reduce((n, id) => n + log.of(id, rolloutId).length, 0);
}

/** The orchestrators' entries equal what each device last reported, and the counts are their sum. */
async function expectEntriesMatchDevices(rolloutId: string, log: ReportLog, deviceIds: readonly string[], view: RolloutView): Promise<void> {
  const entries = await rolloutDevices(stack.api, rolloutId);
  expect(entries.size).toBe(deviceIds.length);
  for (const id of deviceIds) {
    const last = log.last(id, rolloutId)!;
    expect({ id, state: entries.get(id)!.state, counter: entries.get(id)!.counter }).toEqual({ id, state: last.state, counter: last.counter });
  }
  expect(tallyStates(entries.values())).toEqual(view.counts);
}

describe('two orchestrators on one broker and one Redis', () => {
  it('serve the same artifact bytes, Range included, whichever stored it (one shared data directory)', async () => {
    const bytes = new Uint8Array(randomBytes(200_000));
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const stored = await uploadArtifact(createApiClient({ baseUrl: second.url, token: stack.operatorToken }), { bytes });
    expect(stored).toMatchObject({ sha256, size: bytes.length });
    const whole = await fetch(`${stack.apiUrl}/v1/artifacts/${sha256}`);
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toBe(`"${sha256}"`);
    expect(Buffer.from(await whole.arrayBuffer()).equals(Buffer.from(bytes))).toBe(true);
    const part = await fetch(`${stack.apiUrl}/v1/artifacts/${sha256}`, { headers: { range: 'bytes=100000-100999' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 100000-100999/${bytes.length}`);
    expect(Buffer.from(await part.arrayBuffer()).equals(Buffer.from(bytes.subarray(100_000, 101_000)))).toBe(true);
  });

  it('split the intake shards and apply every report once, in order', async () => {
    // Each shard is held, by two members between them, half each.
    await waitUntil(async () => {
      const holders = await leaseHolders();
      return holders.every((h) => h !== null) && new Set(holders).size === 2;
    }, 30_000, 'the shards split between the two orchestrators');
    const split = new Map<string, number>();
    for (const holder of await leaseHolders()) split.set(holder!, (split.get(holder!) ?? 0) + 1);
    expect([...split.values()]).toEqual([DEFAULT_INTAKE_SHARDS / 2, DEFAULT_INTAKE_SHARDS / 2]);

    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 21, count: 200, idPrefix: 'so-', profiles: 'healthy' });
    await stack.registerDevices(provisioned.devices);
    const everyone = provisioned.devices.map((d) => d.id);
    const log = new ReportLog();
    await connect(provisioned, log);
    const before = await outcomes();
    const release = await stack.publishRelease({ releaseId: 'so-rel-1', version: '1.1.0', sequence: 1 });
    const rolloutId = 'so-twice';
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone }, waves: [{ count: 20 }, { percent: 100 }] });
    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 100_000);
    expect(done.counts).toEqual({ succeeded: 200 });
    expect(done.waves.map((w) => w.counts)).toEqual([{ succeeded: 20 }, { succeeded: 180 }]);
    await expectEntriesMatchDevices(rolloutId, log, everyone, done);

    // Every report the devices sent was applied exactly once over both processes: nothing
    // applied twice (stale), nothing out of its device's order (backwards).
    const reports = totalReports(log, everyone, rolloutId);
    await waitUntil(async () => ((await outcomes()).applied ?? 0) - (before.applied ?? 0) >= reports, 10_000, 'every report counted');
    const after = await outcomes();
    const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
    expect({ applied: delta('applied'), stale: delta('stale'), backwards: delta('backwards') }).toEqual({ applied: reports, stale: 0, backwards: 0 });
  }, TEST_TIMEOUT_MS);

  it('one SIGKILLed mid-wave: the other takes its shards within seconds of the lease and finishes with exact counts', async () => {
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 23, count: 200, idPrefix: 'sk-', profiles: 'healthy' });
    await stack.registerDevices(provisioned.devices);
    const everyone = provisioned.devices.map((d) => d.id);
    const log = new ReportLog();
    await connect(provisioned, log);
    const before = await outcomes();
    const release = await stack.publishRelease({ releaseId: 'sk-rel-2', version: '1.2.0', sequence: 2 });
    const rolloutId = 'sk-kill';
    // 15 devices a second: wave 1 (180) is notified over ~12 s, so the kill lands mid-wave.
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone }, waves: [{ count: 20 }, { percent: 100 }], maxNotificationsPerMinute: 900 });
    await waitUntil(() => (log.lastStates(rolloutId, everyone).succeeded ?? 0) >= 40, 60_000, 'wave 1 under way', 10);
    const mid = await stack.api<RolloutView>('GET', `/v1/rollouts/${rolloutId}`);
    const survivorHolds = new Set((await leaseHolders()).filter((h) => h !== null));
    await second.child.kill();
    expect(second.child.process.signalCode).toBe('SIGKILL');
    const killedAt = Date.now();
    expect(mid.waves[1]!.status).toBe('notifying');
    expect(survivorHolds.size).toBe(2);

    // The survivor holds every shard once the dead member's leases have run out.
    await waitUntil(async () => new Set(await leaseHolders()).size === 1 && !(await leaseHolders()).includes(null), 30_000, 'the survivor holding every shard');
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(LEASE_MS + 10_000);

    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 100_000);
    expect(done.counts).toEqual({ succeeded: 200 });
    expect(done.waves.map((w) => w.counts)).toEqual([{ succeeded: 20 }, { succeeded: 180 }]);
    await expectEntriesMatchDevices(rolloutId, log, everyone, done);
    // Every report applied once in effect: a batch the dead member had applied but not yet
    // acknowledged (its outcome counts go with the acknowledgement) is applied again by the
    // survivor and changes nothing (stale); nothing is lost and nothing applied out of order.
    const reports = totalReports(log, everyone, rolloutId);
    const counted = async () => {
      const now = await outcomes();
      return ['applied', 'stale', 'backwards'].map((k) => (now[k] ?? 0) - (before[k] ?? 0)) as [number, number, number];
    };
    await waitUntil(async () => {
      const [applied, stale] = await counted();
      return applied + stale >= reports;
    }, 10_000, 'every report counted');
    const [applied, stale, backwards] = await counted();
    expect({ appliedOrReapplied: applied + stale, backwards }).toEqual({ appliedOrReapplied: reports, backwards: 0 });
  }, TEST_TIMEOUT_MS);
});
