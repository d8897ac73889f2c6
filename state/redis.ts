// Redis connections (ioredis): one Redis (`redis://`, `rediss://`) or a Redis Cluster
// (`redis+cluster://host:port,...`, state/redis-url.ts). BullMQ needs `maxRetriesPerRequest: null`
// on blocking connections and `maxmemory-policy noeviction` on the server (on every master of a
// cluster), checked at start (and periodically: redis-policy-watch.ts). Every connection made
// here, and every duplicate() of it, has an `error` listener: an outage logs structured lines
// once per episode (redis-connection-log.ts) instead of ioredis' "Unhandled error event" stacks.
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { FleetError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';
import { watchRedisErrors } from './redis-connection-log.js';
import { parseRedisUrl } from './redis-url.js';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
export const DEFAULT_KEY_PREFIX = 'fleet:';

/**
 * What fleet-ota talks to Redis through: a single Redis or a Cluster. Both run the same commands
 * (ioredis routes each to its slot's master); what differs (duplicating, SCAN, CONFIG, INFO)
 * goes through the helpers below. Modules import it as `RedisClient as Redis`.
 */
export type RedisClient = Redis | Cluster;

export interface RedisLogOptions {
  /** Names the connection in log lines ("orchestrator", "broker", ...). */
  name?: string;
  /** Default: one process-wide `redis` logger. */
  logger?: Logger;
}

function clusterOptions(url: string, options: RedisOptions): { nodes: Array<{ host: string; port: number }>; options: ClusterOptions } | undefined {
  const target = parseRedisUrl(url);
  if (target.kind === 'single') return undefined;
  // The caller's options go to every node connection, except those a Cluster holds itself:
  // the key prefix, lazy connecting, the offline queue and the retry strategy (which becomes the
  // cluster's: a node's own retries would fight the cluster's slot refresh).
  const { keyPrefix, lazyConnect, enableOfflineQueue, retryStrategy, ...nodeOptions } = options;
  const redisOptions: ClusterOptions['redisOptions'] = {
    maxRetriesPerRequest: null,
    ...nodeOptions,
    ...(target.username !== undefined ? { username: target.username } : {}),
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls ? { tls: {} } : {}),
  };
  return {
    nodes: target.nodes,
    options: {
      enableReadyCheck: true,
      ...(keyPrefix !== undefined ? { keyPrefix } : {}),
      ...(lazyConnect !== undefined ? { lazyConnect } : {}),
      ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
      ...(retryStrategy !== undefined ? { clusterRetryStrategy: retryStrategy } : {}),
      redisOptions,
    },
  };
}

/**
 * A connection to REDIS_URL: a `Redis`, or a `Cluster` for `redis+cluster://` (startup nodes
 * from the URL; the client learns the rest and follows MOVED/ASK). Throws RedisUrlError on a
 * malformed URL.
 */
export function createRedis(url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL, options: RedisOptions = {}, log: RedisLogOptions = {}): RedisClient {
  const cluster = clusterOptions(url, options);
  const client: RedisClient = cluster
    ? new Cluster(cluster.nodes, cluster.options)
    : new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false, ...options });
  return watchRedisErrors(client, log.name ?? 'redis', log.logger);
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/**
 * A new connection like `client` (same target, same listeners) with `overrides`: for pub/sub
 * and blocking readers, which must not share a connection. On a Cluster the overrides apply to
 * every node connection.
 */
export function duplicateRedis(client: RedisClient, overrides: Partial<RedisOptions> = {}): RedisClient {
  if (!isCluster(client)) return client.duplicate(overrides);
  const { keyPrefix, ...nodeOverrides } = overrides;
  return client.duplicate([], {
    ...(keyPrefix !== undefined ? { keyPrefix } : {}),
    redisOptions: { ...client.options.redisOptions, ...nodeOverrides },
  });
}

/**
 * The connections that own data: the client itself, or every master of a Cluster (waiting for
 * the cluster's slot map first). SCAN, CONFIG GET and INFO answer for one node only, so code that
 * means "all of Redis" asks each of these.
 */
export async function masterConnections(client: RedisClient): Promise<Redis[]> {
  if (!isCluster(client)) return [client];
  if (client.status !== 'ready') await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('end', () => reject(new Error('Redis Cluster connection ended before it was ready')));
  });
  return client.nodes('master');
}

/** Redis may evict keys (maxmemory-policy is not noeviction): queues and rollout state could vanish. */
export class RedisPolicyError extends FleetError<'redis_eviction_policy'> {
  constructor(message: string) {
    super('redis_eviction_policy', message);
  }
}

/**
 * The server's maxmemory-policy (undefined when CONFIG GET is not allowed to say); on a Cluster,
 * the first master's policy that is not noeviction, else noeviction: one evicting shard is enough
 * to lose queued jobs or rollout state.
 */
export async function readEvictionPolicy(redis: RedisClient): Promise<string | undefined> {
  let found: string | undefined;
  for (const node of await masterConnections(redis)) {
    const policy = ((await node.config('GET', 'maxmemory-policy')) as string[])[1];
    if (policy !== undefined && policy !== 'noeviction') return policy;
    found ??= policy;
  }
  return found;
}

/** INFO <section> of every master (one entry for a single Redis). */
export async function infoOfMasters(redis: RedisClient, section: string): Promise<string[]> {
  return Promise.all((await masterConnections(redis)).map((node) => node.info(section)));
}

export function evictionPolicyMessage(policy: string): string {
  return `Redis maxmemory-policy is "${policy}"; fleet-ota (and BullMQ) require "noeviction" so that no queued job or rollout state is evicted. Set it with: redis-cli CONFIG SET maxmemory-policy noeviction (and in redis.conf; on a Redis Cluster, on every master).`;
}

/** Refuses to run on a Redis that may evict keys: queues and rollout state would vanish. */
export async function assertNoEviction(redis: RedisClient): Promise<void> {
  const policy = await readEvictionPolicy(redis);
  if (policy !== undefined && policy !== 'noeviction') throw new RedisPolicyError(evictionPolicyMessage(policy));
}

/**
 * Calls `each` with every batch of keys under `prefix` (SCAN, never KEYS: Redis stays
 * responsive), on every master of a Cluster (a SCAN sees one node's keys only). Each batch comes
 * from one node; `each` gets that node for per-key commands (UNLINK of keys in several slots
 * would be refused CROSSSLOT, so callers delete through `node` one slot's worth at a time).
 */
async function scanPrefix(redis: RedisClient, prefix: string, each: (node: Redis, keys: string[]) => Promise<unknown>): Promise<void> {
  for (const node of await masterConnections(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await each(node, keys);
      cursor = next;
    } while (cursor !== '0');
  }
}

/**
 * Deletes every key under a prefix (SCAN + UNLINK). Tests, demos and benchmarks clean up their
 * own keys this way: the Redis is shared, FLUSHALL/FLUSHDB never.
 */
export async function deleteKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  let deleted = 0;
  await scanPrefix(redis, prefix, async (node, keys) => {
    if (!isCluster(redis)) {
      deleted += await node.unlink(...keys);
      return;
    }
    // A node's keys span many slots and one UNLINK must stay in one: one command per key,
    // pipelined (the node owns them all, so nothing is redirected).
    const pipeline = node.pipeline();
    for (const key of keys) pipeline.unlink(key);
    for (const [error, count] of (await pipeline.exec()) ?? []) if (!error) deleted += Number(count);
  });
  return deleted;
}

export async function countKeysWithPrefix(redis: RedisClient, prefix: string): Promise<number> {
  let count = 0;
  await scanPrefix(redis, prefix, async (_node, keys) => {
    count += keys.length;
  });
  return count;
}
