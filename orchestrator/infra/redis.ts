// Redis connections (ioredis). BullMQ needs `maxRetriesPerRequest: null` on blocking
// connections and `maxmemory-policy noeviction` on the server, checked at start.
import { Redis, type RedisOptions } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_KEY_PREFIX = 'fleet:';

export function createRedis(url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL, options: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
}

export class RedisPolicyError extends Error {
  readonly code = 'ERR_REDIS_EVICTION_POLICY';
}

/** Refuses to run on a Redis that may evict keys: queues and rollout state would vanish. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  const policy = reply[1];
  if (policy !== undefined && policy !== 'noeviction') {
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy}"; fleet-ota (and BullMQ) require "noeviction" so that no queued job or rollout state is evicted. Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf).`,
    );
  }
}

/** Calls `each` with every batch of keys under `prefix` (SCAN, never KEYS: Redis stays responsive). */
async function scanPrefix(redis: Redis, prefix: string, each: (keys: string[]) => Promise<unknown>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    if (keys.length > 0) await each(keys);
    cursor = next;
  } while (cursor !== '0');
}

/**
 * Deletes every key under a prefix (SCAN + UNLINK). Tests, demos and benchmarks clean up their
 * own keys this way: the Redis is shared, FLUSHALL/FLUSHDB never.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  await scanPrefix(redis, prefix, async (keys) => {
    deleted += await redis.unlink(...keys);
  });
  return deleted;
}

export async function countKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let count = 0;
  await scanPrefix(redis, prefix, async (keys) => {
    count += keys.length;
  });
  return count;
}
