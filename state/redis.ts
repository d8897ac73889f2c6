// Redis connections (ioredis). BullMQ needs `maxRetriesPerRequest: null` on blocking
// connections and `maxmemory-policy noeviction` on the server, checked at start (and
// periodically: redis-policy-watch.ts). Every connection made here, and every duplicate() of
// it, has an `error` listener: an outage logs structured lines once per episode
// (redis-connection-log.ts) instead of ioredis' "Unhandled error event" stacks.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../runtime/logger.js';
import { watchRedisErrors } from './redis-connection-log.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_KEY_PREFIX = 'fleet:';

export interface RedisLogOptions {
  /** Names the connection in log lines ("orchestrator", "broker", ...). */
  name?: string;
  /** Default: one process-wide `redis` logger. */
  logger?: Logger;
}

export function createRedis(url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL, options: RedisOptions = {}, log: RedisLogOptions = {}): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
  return watchRedisErrors(client, log.name ?? 'redis', log.logger);
}

export class RedisPolicyError extends Error {
  readonly code = 'ERR_REDIS_EVICTION_POLICY';
}

/** The server's maxmemory-policy (undefined when CONFIG GET is not allowed to say). */
export async function readEvictionPolicy(redis: Redis): Promise<string | undefined> {
  const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
  return reply[1];
}

export function evictionPolicyMessage(policy: string): string {
  return `Redis maxmemory-policy is "${policy}"; fleet-ota (and BullMQ) require "noeviction" so that no queued job or rollout state is evicted. Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf).`;
}

/** Refuses to run on a Redis that may evict keys: queues and rollout state would vanish. */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const policy = await readEvictionPolicy(redis);
  if (policy !== undefined && policy !== 'noeviction') throw new RedisPolicyError(evictionPolicyMessage(policy));
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
