// Reads of the registry's indexes across device shards (keys.ts): each index is one sorted set
// per shard, merged here in id order, so callers page and target as over a single index.
// Device ids are ASCII (protocol's DEVICE_ID), so JavaScript's string order is ZRANGEBYLEX's.
import type { RedisClient as Redis } from '../redis.js';
import { DEVICE_SHARDS, deviceShard } from './device-shard.js';
import { classesKey, indexKey, type DeviceIndex } from './keys.js';

function check<T>(replies: Array<[Error | null, unknown]> | null): T[] {
  return (replies ?? []).map(([error, value]) => {
    if (error) throw error;
    return value as T;
  });
}

/**
 * The first `count` ids of `index` in the lexicographic range (`from`, `upper`: ZRANGEBYLEX
 * bounds such as `-`, `+`, `[a`, `(a`), merged over the shards. Fewer than `count`: the range
 * holds no more.
 */
export async function pageIndex(redis: Redis, prefix: string, index: DeviceIndex, from: string, upper: string, count: number): Promise<string[]> {
  const pipeline = redis.pipeline();
  for (const shard of DEVICE_SHARDS) pipeline.zrangebylex(indexKey(prefix, shard, index), from, upper, 'LIMIT', 0, count);
  // Each shard answered its first `count`: the first `count` of all of them are among these.
  return check<string[]>(await pipeline.exec()).flat().sort().slice(0, count);
}

/** Every id in any of `indexes` (a union over indexes and shards). */
export async function indexMembers(redis: Redis, prefix: string, indexes: readonly DeviceIndex[]): Promise<Set<string>> {
  const pipeline = redis.pipeline();
  for (const index of indexes) for (const shard of DEVICE_SHARDS) pipeline.zrange(indexKey(prefix, shard, index), '0', '-1');
  const out = new Set<string>();
  for (const ids of check<string[]>(await pipeline.exec())) for (const id of ids) out.add(id);
  return out;
}

/** The ids among `deviceIds` that are registered (revoked ones included). */
export async function registeredAmong(redis: Redis, prefix: string, deviceIds: readonly string[]): Promise<Set<string>> {
  const byShard = new Map<number, string[]>();
  for (const id of deviceIds) {
    const shard = deviceShard(id);
    const ids = byShard.get(shard);
    if (ids) ids.push(id);
    else byShard.set(shard, [id]);
  }
  const pipeline = redis.pipeline();
  const asked = [...byShard];
  for (const [shard, ids] of asked) pipeline.call('ZMSCORE', indexKey(prefix, shard, { kind: 'all' }), ...ids);
  const known = new Set<string>();
  check<Array<string | null>>(await pipeline.exec()).forEach((scores, i) => {
    asked[i]![1].forEach((id, j) => {
      if (scores[j] !== null) known.add(id);
    });
  });
  return known;
}

/** Every (vendorId, classId) pair that has registered devices. */
export async function deviceClasses(redis: Redis, prefix: string): Promise<Array<{ vendorId: string; classId: string }>> {
  const pipeline = redis.pipeline();
  for (const shard of DEVICE_SHARDS) pipeline.smembers(classesKey(prefix, shard));
  const members = new Set(check<string[]>(await pipeline.exec()).flat());
  return [...members].sort().map((member) => {
    const [vendorId = '', classId = ''] = member.split('/');
    return { vendorId, classId };
  });
}

/** How many ids `index` holds (over every shard). */
export async function indexSize(redis: Redis, prefix: string, index: DeviceIndex): Promise<number> {
  const pipeline = redis.pipeline();
  for (const shard of DEVICE_SHARDS) pipeline.zcard(indexKey(prefix, shard, index));
  return check<number>(await pipeline.exec()).reduce((sum, n) => sum + n, 0);
}
