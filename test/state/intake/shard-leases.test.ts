// The sharded intake's layout, membership and leases on a real Redis (unique prefix, cleaned up):
// the shard hash is fixed, the split is exactly fair and disjoint, a lease has one holder at a
// time and passes on only when released or expired, a silent member drops out of the group, and
// a deployment's shard count is pinned.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis, deleteKeysWithPrefix } from '../../../state/redis.js';
import {
  assignedShards,
  ensureIntakeLayout,
  heartbeatMember,
  holdShardLease,
  IntakeLayoutError,
  intakeStreamKey,
  releaseShardLease,
  renewShardLeases,
  shardOf,
} from '../../../state/intake/index.js';

const redis = createRedis();
const prefix = `test:intake-leases:${randomBytes(4).toString('hex')}:`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

describe('intake layout', () => {
  it('maps a device to a fixed shard (FNV-1a 32-bit) and each shard to a key of its own hash tag', () => {
    // FNV-1a("a") = 0xe40c292c, FNV-1a("foobar") = 0xbf9cf968 (published test values).
    expect(shardOf('a', 2 ** 16)).toBe(0xe40c292c % 2 ** 16);
    expect(shardOf('foobar', 1_000)).toBe(0xbf9cf968 % 1_000);
    for (const id of ['dev-1', 'dev-2', 'x']) expect(shardOf(id, 16)).toBe(shardOf(id, 16));
    expect(intakeStreamKey('fleet:', 3)).toBe('fleet:{intake:3}');
  });

  it('spreads devices over every shard', () => {
    const seen = new Set(Array.from({ length: 1_000 }, (_, i) => shardOf(`device-${i}`, 16)));
    expect(seen.size).toBe(16);
  });

  it('pins the shard count on first use and refuses another one', async () => {
    const own = `${prefix}layout:`;
    expect(await ensureIntakeLayout(redis, own, 8)).toEqual({ prefix: own, shards: 8 });
    expect(await ensureIntakeLayout(redis, own, 8)).toEqual({ prefix: own, shards: 8 });
    const refused = await ensureIntakeLayout(redis, own, 16).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(IntakeLayoutError);
    expect((refused as IntakeLayoutError).code).toBe('intake_shard_count');
    await expect(ensureIntakeLayout(redis, own, 0)).rejects.toMatchObject({ code: 'intake_shard_count' });
  });
});

describe('shard assignment', () => {
  it('is an exactly fair, disjoint split that covers every shard, the same whatever order members are listed in', () => {
    const members = ['m-c', 'm-a', 'm-b'];
    const parts = members.map((m) => assignedShards(members, m, 16));
    expect(parts.map((p) => p.length).sort()).toEqual([5, 5, 6]);
    expect(parts.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(assignedShards(['m-b', 'm-c', 'm-a'], 'm-a', 16)).toEqual(assignedShards(members, 'm-a', 16));
    expect(assignedShards(members, 'm-unknown', 16)).toEqual([]);
  });
});

describe('membership and leases', () => {
  it('lists live members sorted, and forgets one whose heartbeat ran out', async () => {
    const own = `${prefix}members:`;
    await heartbeatMember(redis, own, 'm-z', 300);
    expect(await heartbeatMember(redis, own, 'm-a', 10_000)).toEqual(['m-a', 'm-z']);
    await sleep(400);
    expect(await heartbeatMember(redis, own, 'm-a', 10_000)).toEqual(['m-a']);
  });

  it('has one holder at a time; only the holder renews or releases it; an expired lease can be taken', async () => {
    const own = `${prefix}lease:`;
    expect(await holdShardLease(redis, own, 1, 'm-a', 300)).toBe(true);
    expect(await holdShardLease(redis, own, 1, 'm-b', 300)).toBe(false);
    // Renewed by its holder: still held past the first lifetime.
    expect(await renewShardLeases(redis, own, [1], 'm-a', 300)).toEqual([]);
    expect(await renewShardLeases(redis, own, [1], 'm-b', 300)).toEqual([1]);
    await releaseShardLease(redis, own, 1, 'm-b');
    expect(await holdShardLease(redis, own, 1, 'm-b', 300)).toBe(false);
    await releaseShardLease(redis, own, 1, 'm-a');
    expect(await holdShardLease(redis, own, 1, 'm-b', 300)).toBe(true);
    // m-b stops renewing (dies): the lease runs out and m-a takes it; m-b learns it lost it.
    await sleep(400);
    expect(await holdShardLease(redis, own, 1, 'm-a', 300)).toBe(true);
    expect(await renewShardLeases(redis, own, [1], 'm-b', 300)).toEqual([1]);
  });
});
