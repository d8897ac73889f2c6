// The one device-key cache (broker, HTTP registry, ingestion): one Redis read per device per TTL
// however many lookups, bounded size, invalidation that also discards an overlapping read, a
// timeout for a stuck registry; and on a real Redis, a revocation dropping the key at once.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePublicKey, encodePublicKey } from '../../../protocol/index.js';
import { encodeDeviceRecord } from '../../../state/device-record.js';
import { deleteKeysWithPrefix } from '../../../state/redis.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import { importDevicePublicKey, type DeviceVerifyKey } from '../../../broker/auth/verify-connect-token.js';
import { DeviceKeyCache, deviceKey, registerDevices, RegistryUnavailableError, revokeDevice, type DeviceKeyCacheOptions, type RegistryReader } from '../../../state/registry/index.js';

const key = generateSigningKey();
function record(id: string, revoked = false, publicKey = encodePublicKey(key.publicKey)) {
  return encodeDeviceRecord({ id, publicKey, vendorId: 'v', classId: 'c', groups: [], tags: [], revoked, createdAt: '2026-01-01T00:00:00Z' });
}

/** In-memory registry: hashes by key, counting reads (one per device), optionally held until released. */
class FakeRegistry implements RegistryReader {
  readonly hashes = new Map<string, Record<string, string>>();
  reads = 0;
  hold: Promise<void> | undefined;
  pipeline() {
    const reads: Array<() => [null, Array<string | null>]> = [];
    const pipeline = {
      hmget: (key: string, ...fields: string[]) => {
        this.reads++;
        // Snapshot first, answer later: like a reply already on its way when the hash changes.
        const snapshot = { ...(this.hashes.get(key) ?? {}) };
        reads.push(() => [null, fields.map((f) => snapshot[f] ?? null)]);
        return pipeline;
      },
      exec: async () => {
        if (this.hold) await this.hold;
        return reads.map((read) => read());
      },
    };
    return pipeline;
  }
}

const failingRegistry: RegistryReader = {
  pipeline: () => ({ hmget() { return this; }, exec: () => Promise.reject(new Error('down')) }),
};

const p = (id: string) => deviceKey('p:', id);

function cacheWith(registry: RegistryReader, clock: { now: number }, overrides: DeviceKeyCacheOptions<DeviceVerifyKey> = {}) {
  return new DeviceKeyCache<DeviceVerifyKey>(registry, 'p:', { importKey: importDevicePublicKey, maxEntries: 3, ttlMs: 60_000, negativeTtlMs: 5_000, timeoutMs: 200, clock: () => clock.now, revocations: 'none', ...overrides });
}

describe('DeviceKeyCache (in memory)', () => {
  it('reads each device once per TTL, and shares one read between concurrent lookups', async () => {
    const registry = new FakeRegistry();
    registry.hashes.set(p('d1'), record('d1'));
    const clock = { now: 0 };
    const cache = cacheWith(registry, clock);
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.lookupOne('d1')));
    expect(results.every((r) => r.status === 'active')).toBe(true);
    expect(registry.reads).toBe(1);
    clock.now = 59_999;
    await cache.lookupOne('d1');
    expect(registry.reads).toBe(1);
    clock.now = 60_001;
    await cache.lookupOne('d1');
    expect(registry.reads).toBe(2);
  });

  it('tells unknown (cached briefly), revoked and bad keys apart', async () => {
    const registry = new FakeRegistry();
    registry.hashes.set(p('r'), record('r', true));
    registry.hashes.set(p('b'), record('b', false, 'not-a-key'));
    registry.hashes.set(p('x'), record('someone-else'));
    const clock = { now: 0 };
    const cache = cacheWith(registry, clock, { maxEntries: 10 });
    expect(await cache.lookupOne('u')).toEqual({ status: 'unknown' });
    expect(await cache.lookupOne('r')).toEqual({ status: 'revoked' });
    expect(await cache.lookupOne('b')).toEqual({ status: 'bad_key' });
    expect(await cache.lookupOne('x')).toEqual({ status: 'unknown' });
    const reads = registry.reads;
    await cache.lookupOne('u');
    expect(registry.reads).toBe(reads);
    clock.now = 5_001;
    await cache.lookupOne('u');
    expect(registry.reads).toBe(reads + 1);
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const registry = new FakeRegistry();
    for (const id of ['a', 'b', 'c', 'd']) registry.hashes.set(p(id), record(id));
    const cache = cacheWith(registry, { now: 0 });
    for (const id of ['a', 'b', 'c']) await cache.lookupOne(id);
    await cache.lookupOne('a');
    await cache.lookupOne('d');
    expect(cache.size).toBe(3);
    const reads = registry.reads;
    await cache.lookupOne('a');
    expect(registry.reads).toBe(reads);
    await cache.lookupOne('b');
    expect(registry.reads).toBe(reads + 1);
  });

  it('invalidate drops the entry, and a read that overlapped it is not cached', async () => {
    const registry = new FakeRegistry();
    registry.hashes.set(p('d1'), record('d1'));
    const cache = cacheWith(registry, { now: 0 });
    await cache.lookupOne('d1');
    registry.hashes.set(p('d1'), record('d1', true));
    cache.invalidate('d1');
    expect(await cache.lookupOne('d1')).toEqual({ status: 'revoked' });

    registry.hashes.set(p('d2'), record('d2'));
    let release!: () => void;
    registry.hold = new Promise((resolve) => (release = resolve));
    const generation = cache.generation;
    const pending = cache.lookupOne('d2');
    cache.invalidate('d2');
    expect(cache.generation).not.toBe(generation);
    registry.hashes.set(p('d2'), record('d2', true));
    release();
    registry.hold = undefined;
    expect(await pending).toEqual({ status: 'active', key: expect.anything() });
    expect(await cache.lookupOne('d2')).toEqual({ status: 'revoked' });
  });

  it('throws RegistryUnavailableError when the registry is slow or failing', async () => {
    const registry = new FakeRegistry();
    registry.hold = new Promise(() => undefined);
    const cache = cacheWith(registry, { now: 0 }, { timeoutMs: 50 });
    await expect(cache.lookupOne('d1')).rejects.toBeInstanceOf(RegistryUnavailableError);
    const failing = cacheWith(failingRegistry, { now: 0 });
    await expect(failing.lookupOne('d1')).rejects.toMatchObject({ code: 'registry_unavailable' });
  });
});

describe('DeviceKeyCache (real Redis)', () => {
  const prefix = `test:key-cache:${randomBytes(4).toString('hex')}:`;
  const signer = generateSigningKey();
  const wire = encodePublicKey(signer.publicKey);
  const now = new Date('2026-01-01T00:00:00Z');
  let redis: Redis;
  const device = (id: string) => ({ id, publicKey: wire, vendorId: 'v', classId: 'c', groups: [], tags: [] });

  beforeAll(async () => {
    redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
    await registerDevices(redis, prefix, [device('k1'), device('k2'), device('k3')], now);
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  it('answers raw key bytes in a batch, leaving out unknown devices, and keeps unknown only briefly', async () => {
    const clock = { now: 0 };
    const cache = new DeviceKeyCache(redis, prefix, { ttlMs: 60_000, negativeTtlMs: 2_000, clock: () => clock.now, revocations: 'none' });
    const found = await cache.lookup(['k1', 'k2', 'nobody', 'k1']);
    expect([...found.keys()].sort()).toEqual(['k1', 'k2']);
    expect(found.get('k1')).toEqual(decodePublicKey(wire));
    await registerDevices(redis, prefix, [device('nobody')], now);
    clock.now = 1_999;
    expect(await cache.get('nobody')).toBeUndefined();
    clock.now = 2_000;
    expect(await cache.get('nobody')).toEqual(decodePublicKey(wire));
  });

  it('drops a key the moment its device is revoked, from any process, with no time to live to wait out', async () => {
    // The clock never moves: only the revocation channel can make the cache read again.
    const cache = new DeviceKeyCache(redis, prefix, { ttlMs: 60_000, clock: () => 0 });
    const other = redis.duplicate();
    try {
      expect(await cache.get('k3')).toBeDefined();
      expect(await cache.get('k3')).toBeDefined();
      expect(await revokeDevice(other, prefix, 'k3', now)).toBe('revoked');
      await expect.poll(() => cache.get('k3'), { timeout: 5_000, interval: 20 }).toBeUndefined();
      expect(await cache.lookupOne('k3')).toEqual({ status: 'revoked' });
    } finally {
      await cache.close();
      await other.quit();
    }
  });
});
