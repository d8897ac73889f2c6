// The device key cache used to verify status reports: keys are reused for their lifetime,
// "unknown" only briefly, revoked devices have no key, and forget() drops an entry at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { decodePublicKey } from '../../../protocol/index.js';
import { createRedis } from '../../../state/redis.js';
import { registryKeys } from '../../../state/device-record.js';
import { createPublicKeyCache } from '../../../orchestrator/registry/public-key-cache.js';
import { deletePrefix, randomDeviceKey, testPrefix } from '../helpers.js';

const prefix = testPrefix('key-cache');
let redis: Redis;
let clock = 0;
const key = randomDeviceKey();

beforeAll(async () => {
  redis = createRedis();
  await redis.hset(registryKeys(prefix).device('k1'), { id: 'k1', publicKey: key, revoked: '0' });
});

afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('public key cache', () => {
  it('reuses a key for its lifetime, then reads again', async () => {
    const cache = createPublicKeyCache(redis, prefix, { ttlMs: 1000, now: () => clock });
    expect(await cache.get('k1')).toEqual(decodePublicKey(key));
    await redis.hset(registryKeys(prefix).device('k1'), 'revoked', '1');
    clock = 999;
    expect(await cache.get('k1')).toEqual(decodePublicKey(key));
    clock = 1000;
    expect(await cache.get('k1')).toBeUndefined();
    await redis.hset(registryKeys(prefix).device('k1'), 'revoked', '0');
  });

  it('remembers an unknown device only briefly', async () => {
    clock = 0;
    const cache = createPublicKeyCache(redis, prefix, { ttlMs: 60_000, now: () => clock });
    expect(await cache.get('k2')).toBeUndefined();
    await redis.hset(registryKeys(prefix).device('k2'), { id: 'k2', publicKey: key, revoked: '0' });
    clock = 1999;
    expect(await cache.get('k2')).toBeUndefined();
    clock = 2000;
    expect(await cache.get('k2')).toEqual(decodePublicKey(key));
  });

  it('forgets an entry at once', async () => {
    clock = 0;
    const cache = createPublicKeyCache(redis, prefix, { ttlMs: 60_000, now: () => clock });
    expect(await cache.get('k1')).toBeDefined();
    await redis.hset(registryKeys(prefix).device('k1'), 'revoked', '1');
    expect(await cache.get('k1')).toBeDefined();
    cache.forget('k1');
    expect(await cache.get('k1')).toBeUndefined();
    await redis.hset(registryKeys(prefix).device('k1'), 'revoked', '0');
  });

  it('drops the oldest entry when full', async () => {
    clock = 0;
    const cache = createPublicKeyCache(redis, prefix, { entries: 1, ttlMs: 60_000, now: () => clock });
    expect(await cache.get('k1')).toBeDefined();
    expect(await cache.get('k2')).toBeDefined();
    // k1 was evicted by k2: the next read goes to Redis and sees the revocation.
    await redis.hset(registryKeys(prefix).device('k1'), 'revoked', '1');
    expect(await cache.get('k1')).toBeUndefined();
  });
});
