// The device key cache: one Redis read per device per TTL however many connects, bounded size,
// invalidation that also discards an overlapping read, and a timeout for a stuck registry.
import { describe, expect, it } from 'vitest';
import { encodePublicKey } from '../../../protocol/index.js';
import { encodeDeviceRecord } from '../../../state/device-record.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import { DeviceKeyCache, RegistryUnavailableError, type RegistryReader } from '../../../broker/auth/device-key-cache.js';

const key = generateSigningKey();
function record(id: string, revoked = false, publicKey = encodePublicKey(key.publicKey)) {
  return encodeDeviceRecord({ id, publicKey, vendorId: 'v', classId: 'c', groups: [], tags: [], revoked, createdAt: '2026-01-01T00:00:00Z' });
}

/** In-memory registry: hashes by key, counting reads, optionally held until released. */
class FakeRegistry implements RegistryReader {
  readonly hashes = new Map<string, Record<string, string>>();
  reads = 0;
  hold: Promise<void> | undefined;
  async hgetall(key: string): Promise<Record<string, string>> {
    this.reads++;
    // Snapshot first, answer later: like a reply already on its way when the hash changes.
    const snapshot = { ...(this.hashes.get(key) ?? {}) };
    if (this.hold) await this.hold;
    return snapshot;
  }
}

function cacheWith(registry: RegistryReader, clock: { now: number }, overrides: Partial<ConstructorParameters<typeof DeviceKeyCache>[0]> = {}) {
  return new DeviceKeyCache({ redis: registry, keyPrefix: 'p:', maxEntries: 3, ttlMs: 60_000, negativeTtlMs: 5_000, timeoutMs: 200, clock: () => clock.now, ...overrides });
}

describe('DeviceKeyCache', () => {
  it('reads each device once per TTL, and shares one read between concurrent lookups', async () => {
    const registry = new FakeRegistry();
    registry.hashes.set('p:device:d1', record('d1'));
    const clock = { now: 0 };
    const cache = cacheWith(registry, clock);
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.lookup('d1')));
    expect(results.every((r) => r.status === 'active')).toBe(true);
    expect(registry.reads).toBe(1);
    clock.now = 59_999;
    await cache.lookup('d1');
    expect(registry.reads).toBe(1);
    clock.now = 60_001;
    await cache.lookup('d1');
    expect(registry.reads).toBe(2);
  });

  it('tells unknown (cached briefly), revoked and bad keys apart', async () => {
    const registry = new FakeRegistry();
    registry.hashes.set('p:device:r', record('r', true));
    registry.hashes.set('p:device:b', record('b', false, 'not-a-key'));
    registry.hashes.set('p:device:x', record('someone-else'));
    const clock = { now: 0 };
    const cache = cacheWith(registry, clock, { maxEntries: 10 });
    expect(await cache.lookup('u')).toEqual({ status: 'unknown' });
    expect(await cache.lookup('r')).toEqual({ status: 'revoked' });
    expect(await cache.lookup('b')).toEqual({ status: 'bad_key' });
    expect(await cache.lookup('x')).toEqual({ status: 'unknown' });
    const reads = registry.reads;
    await cache.lookup('u');
    expect(registry.reads).toBe(reads);
    clock.now = 5_001;
    await cache.lookup('u');
    expect(registry.reads).toBe(reads + 1);
  });

  it('keeps at most maxEntries, evicting the least recently used', async () => {
    const registry = new FakeRegistry();
    for (const id of ['a', 'b', 'c', 'd']) registry.hashes.set(`p:device:${id}`, record(id));
    const cache = cacheWith(registry, { now: 0 });
    for (const id of ['a', 'b', 'c']) await cache.lookup(id);
    await cache.lookup('a');
    await cache.lookup('d');
    expect(cache.size).toBe(3);
    const reads = registry.reads;
    await cache.lookup('a');
    expect(registry.reads).toBe(reads);
    await cache.lookup('b');
    expect(registry.reads).toBe(reads + 1);
  });

  it('invalidate drops the entry, and a read that overlapped it is not cached', async () => {
    const registry = new FakeRegistry();
    registry.hashes.set('p:device:d1', record('d1'));
    const cache = cacheWith(registry, { now: 0 });
    await cache.lookup('d1');
    registry.hashes.set('p:device:d1', record('d1', true));
    cache.invalidate('d1');
    expect(await cache.lookup('d1')).toEqual({ status: 'revoked' });

    registry.hashes.set('p:device:d2', record('d2'));
    let release!: () => void;
    registry.hold = new Promise((resolve) => (release = resolve));
    const generation = cache.generation;
    const pending = cache.lookup('d2');
    cache.invalidate('d2');
    expect(cache.generation).not.toBe(generation);
    registry.hashes.set('p:device:d2', record('d2', true));
    release();
    registry.hold = undefined;
    expect(await pending).toEqual({ status: 'active', key: expect.anything() });
    expect(await cache.lookup('d2')).toEqual({ status: 'revoked' });
  });

  it('throws RegistryUnavailableError when the registry is slow or failing', async () => {
    const registry = new FakeRegistry();
    registry.hold = new Promise(() => undefined);
    const cache = cacheWith(registry, { now: 0 }, { timeoutMs: 50 });
    await expect(cache.lookup('d1')).rejects.toBeInstanceOf(RegistryUnavailableError);
    const failing = cacheWith({ hgetall: () => Promise.reject(new Error('down')) }, { now: 0 });
    await expect(failing.lookup('d1')).rejects.toMatchObject({ code: 'ERR_REGISTRY_UNAVAILABLE' });
  });
});
