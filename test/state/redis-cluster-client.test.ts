// The connection layer on a real 3-master Redis Cluster (test/support/redis-cluster.ts): the
// harness itself, then createRedis/duplicateRedis, pub/sub, the noeviction check on every
// master and prefix cleanup across every master.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { slotKey } from '../../state/keys.js';
import { assertNoEviction, countKeysWithPrefix, createRedis, deleteKeysWithPrefix, duplicateRedis, isCluster, readEvictionPolicy, type RedisClient } from '../../state/redis.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';

let cluster: TestRedisCluster;
let redis: RedisClient;
const prefix = 'fleet-cluster-test:';

beforeAll(async () => {
  cluster = await startRedisCluster();
  redis = createRedis(cluster.url, {}, { name: 'cluster-test' });
});

afterAll(async () => {
  await redis?.quit().catch(() => undefined);
  await cluster?.stop();
});

describe('Redis Cluster (3 masters)', () => {
  it('starts three masters that split all 16384 slots and agree on it', async () => {
    expect(cluster.nodes).toHaveLength(3);
    expect(cluster.nodes.map((n) => n.slots)).toEqual([[0, 5460], [5461, 10921], [10922, 16383]]);
    for (const node of cluster.nodes) {
      expect(await node.admin.call('CLUSTER', 'INFO')).toContain('cluster_slots_assigned:16384');
    }
  });

  it('createRedis makes a Cluster client that routes every key to its slot and spreads tags', async () => {
    expect(isCluster(redis)).toBe(true);
    expect(redis).toBeInstanceOf(Cluster);
    for (let shard = 0; shard < 64; shard += 1) await redis.set(slotKey(prefix, `d${shard}`, 'x'), String(shard));
    expect(await redis.get(slotKey(prefix, 'd7', 'x'))).toBe('7');
    const perNode = await Promise.all(cluster.nodes.map((n) => n.admin.dbsize()));
    for (const count of perNode) expect(count).toBeGreaterThan(0);
    expect(perNode.reduce((a, b) => a + b, 0)).toBe(64);
    // One MULTI or script over keys of one tag is accepted; over two slots Redis refuses it.
    const sameSlot = await redis.multi().set(slotKey(prefix, 't', 'a'), '1').set(slotKey(prefix, 't', 'b'), '2').exec();
    expect(sameSlot?.every(([error]) => error === null)).toBe(true);
    await expect(redis.eval('return 1', 2, slotKey(prefix, 'd1', 'x'), slotKey(prefix, 'd2', 'x'))).rejects.toThrow(/CROSSSLOT/);
  });

  it('duplicateRedis gives a cluster connection of its own, usable for pub/sub across nodes', async () => {
    const subscriber = duplicateRedis(redis);
    const publisher = duplicateRedis(redis, { maxRetriesPerRequest: null });
    try {
      expect(isCluster(subscriber)).toBe(true);
      const received = new Promise<string>((resolve) => subscriber.on('message', (_channel: string, message: string) => resolve(message)));
      await subscriber.subscribe(`${prefix}events:test`);
      // Cluster PUBLISH reaches subscribers on every node, whichever node the publisher uses.
      await publisher.publish(`${prefix}events:test`, 'hello');
      expect(await received).toBe('hello');
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });

  it('checks the eviction policy on every master: one evicting shard is refused', async () => {
    await assertNoEviction(redis);
    await cluster.nodes[2]!.admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      expect(await readEvictionPolicy(redis)).toBe('allkeys-lru');
      await expect(assertNoEviction(redis)).rejects.toMatchObject({ code: 'redis_eviction_policy' });
    } finally {
      await cluster.nodes[2]!.admin.config('SET', 'maxmemory-policy', 'noeviction');
    }
  });

  it('counts and deletes a prefix on every master, and nothing else', async () => {
    await redis.set('other-prefix:{x}:kept', '1');
    expect(await countKeysWithPrefix(redis, prefix)).toBe(66);
    expect(await deleteKeysWithPrefix(redis, prefix)).toBe(66);
    expect(await countKeysWithPrefix(redis, prefix)).toBe(0);
    expect(await redis.get('other-prefix:{x}:kept')).toBe('1');
  });
});
