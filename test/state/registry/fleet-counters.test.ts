// The fleet counters on a real Redis: kept exact by the scripts that change a device
// (register, revoke, presence, the installed release a status report records), equal to a full
// recount of the records at every step, found out by the index check when records were written
// around the scripts, repaired by the recount, and exact when the recount runs while devices
// keep changing.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../../../state/redis.js';
import {
  DEVICE_SHARDS,
  checkFleetCounters,
  deviceKey,
  deviceShard,
  fleetCountersKey,
  indexMembers,
  readDevices,
  readFleetCounts,
  recordPresence,
  recountFleetShard,
  registerDevices,
  revokeDevice,
  type FleetCounts,
  type NewDevice,
} from '../../../state/registry/index.js';
import { applyStatusReports } from '../../../state/rollouts/status-apply.js';

const prefix = `test:fleet-counters:${randomBytes(4).toString('hex')}:`;
let redis: Redis;
const now = new Date('2026-01-01T00:00:00Z');
const device = (i: number): NewDevice => ({ id: `fc-${String(i).padStart(4, '0')}`, publicKey: 'A'.repeat(43), vendorId: i % 3 === 0 ? 'globex' : 'acme', classId: `gw-${i % 2}`, groups: [], tags: [] });
const ids = (n: number, from = 0) => Array.from({ length: n }, (_, i) => device(from + i).id);

/** The counts from every record, the slow way: what the counters must always equal. */
async function recount(): Promise<FleetCounts> {
  const all = [...(await indexMembers(redis, prefix, [{ kind: 'all' }]))].sort();
  const out: FleetCounts = { total: 0, revoked: 0, online: 0, offline: 0, unknown: 0, classes: {}, releases: {} };
  for (const record of await readDevices(redis, prefix, all)) {
    if (!record) continue;
    out.total++;
    if (record.revoked) out.revoked++;
    if (record.presence) out[record.presence]++;
    else out.unknown++;
    const cls = `${record.vendorId}/${record.classId}`;
    out.classes[cls] = (out.classes[cls] ?? 0) + 1;
    const release = record.installedReleaseId ?? '';
    out.releases[release] = (out.releases[release] ?? 0) + 1;
  }
  return out;
}

let seq = 0;
/** A status report recorded on the device (its rollout is unknown: only the device step changes anything). */
function report(deviceId: string, releaseId: string) {
  seq++;
  return { deviceId, rolloutId: 'ro-none', counter: 1, seq, state: 'succeeded', progress: 0, reason: '', at: '2026-01-01T00:00:00Z', installedReleaseId: releaseId, installedSequence: 2, rootVersion: 1, epoch: 0 };
}

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

describe('fleet counters', () => {
  it('stay equal to a full recount through register, revoke, presence and installed-release changes', async () => {
    await registerDevices(redis, prefix, Array.from({ length: 120 }, (_, i) => device(i)), now);
    expect(new Set(ids(120).map(deviceShard)).size).toBe(DEVICE_SHARDS.length);
    // Registering a taken id changes nothing.
    await registerDevices(redis, prefix, [device(3), device(7)], now);
    expect(await readFleetCounts(redis, prefix)).toEqual(await recount());

    for (const id of ids(10)) await revokeDevice(redis, prefix, id, now);
    await revokeDevice(redis, prefix, ids(1)[0]!, now); // again: counted once
    await recordPresence(redis, prefix, ids(40).map((deviceId) => ({ deviceId, presence: 'online' as const, at: '2026-01-01T00:00:00Z' })));
    // Offline, online again, a repeat, and an id that is not registered (skipped, no record made).
    await recordPresence(redis, prefix, [
      ...ids(15).map((deviceId) => ({ deviceId, presence: 'offline' as const, at: '2026-01-01T00:00:01Z' })),
      ...ids(5).map((deviceId) => ({ deviceId, presence: 'online' as const, at: '2026-01-01T00:00:02Z' })),
      { deviceId: 'nobody', presence: 'online', at: '2026-01-01T00:00:02Z' },
    ]);
    expect(await redis.exists(deviceKey(prefix, 'nobody'))).toBe(0);
    await applyStatusReports(redis, prefix, ids(30).map((id) => report(id, 'fw-1')));
    await applyStatusReports(redis, prefix, [...ids(12).map((id) => report(id, 'fw-2')), ...ids(12).map((id) => report(id, 'fw-2'))]);

    const counts = await readFleetCounts(redis, prefix);
    expect(counts).toEqual(await recount());
    expect(counts).toMatchObject({ total: 120, revoked: 10, online: 30, offline: 10, unknown: 80 });
    expect(counts.releases).toEqual({ '': 90, 'fw-1': 18, 'fw-2': 12 });
    expect(await checkFleetCounters(redis, prefix)).toEqual([]);
    // A recount over consistent counters finds the same numbers.
    for (const shard of DEVICE_SHARDS) expect(await recountFleetShard(redis, prefix, shard, 7)).toBe('recounted');
    expect(await readFleetCounts(redis, prefix)).toEqual(counts);
  });

  it('finds a shard whose counters disagree with its indexes, and the recount repairs it', async () => {
    const before = await readFleetCounts(redis, prefix);
    const shard = deviceShard(ids(1)[0]!);
    // Records written before the counters existed: no counters hash for the shard at all.
    await redis.del(fleetCountersKey(prefix, shard));
    expect(await checkFleetCounters(redis, prefix)).toEqual([shard]);
    expect((await readFleetCounts(redis, prefix)).total).toBeLessThan(before.total);
    expect(await recountFleetShard(redis, prefix, shard)).toBe('recounted');
    expect(await checkFleetCounters(redis, prefix)).toEqual([]);
    expect(await readFleetCounts(redis, prefix)).toEqual(before);
  });

  it('recounts exactly while devices keep registering and changing', async () => {
    const shard = deviceShard(ids(1)[0]!);
    // Chunks of 3: the recount takes many calls, and changes land between them, before and after its cursor.
    const recounting = recountFleetShard(redis, prefix, shard, 3);
    const changes = (async () => {
      for (let round = 0; round < 20; round++) {
        await registerDevices(redis, prefix, [device(200 + round), device(1000 - round)], now);
        await recordPresence(redis, prefix, ids(120).filter((_, i) => i % 20 === round).map((deviceId) => ({ deviceId, presence: round % 2 ? 'online' as const : 'offline' as const, at: '2026-01-01T00:01:00Z' })));
        await applyStatusReports(redis, prefix, ids(120).filter((_, i) => i % 20 === round).map((id) => report(id, `fw-${round % 3}`)));
        if (round % 4 === 0) await revokeDevice(redis, prefix, ids(1, 20 + round)[0]!, now);
      }
    })();
    await Promise.all([recounting, changes]);
    expect(await recounting).toBe('recounted');
    expect(await readFleetCounts(redis, prefix)).toEqual(await recount());
    expect(await checkFleetCounters(redis, prefix)).toEqual([]);
  });
});
