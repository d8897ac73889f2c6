// Device public keys for verifying status reports, cached briefly: ingestion verifies many
// reports per device. Revoked or unknown devices have no key. Entries are dropped on revocation
// (this process, or any other through the revocation channel: see server.ts).
import type { Redis } from 'ioredis';
import { decodePublicKey } from '../../protocol/index.js';
import { registryKeys } from '../../state/device-record.js';
import { REGISTRY_LIMITS } from './limits.js';

export interface PublicKeyCache {
  get(deviceId: string): Promise<Uint8Array | undefined>;
  forget(deviceId: string): void;
}

export function createPublicKeyCache(redis: Redis, prefix: string, options: { entries?: number; ttlMs?: number; now?: () => number } = {}): PublicKeyCache {
  const entries = options.entries ?? REGISTRY_LIMITS.publicKeyCacheEntries;
  const ttlMs = options.ttlMs ?? REGISTRY_LIMITS.publicKeyCacheMs;
  const negativeTtlMs = REGISTRY_LIMITS.publicKeyNegativeCacheMs;
  const now = options.now ?? Date.now;
  const cache = new Map<string, { key: Uint8Array | undefined; until: number }>();
  const keys = registryKeys(prefix);
  return {
    async get(deviceId) {
      const hit = cache.get(deviceId);
      if (hit && hit.until > now()) return hit.key;
      const [publicKey, revoked] = await redis.hmget(keys.device(deviceId), 'publicKey', 'revoked');
      const key = publicKey && revoked !== '1' ? decodePublicKey(publicKey) : undefined;
      // Map order is insertion order: dropping the oldest entry keeps the cache bounded.
      if (cache.size >= entries) cache.delete(cache.keys().next().value as string);
      cache.delete(deviceId);
      // "No key" is kept only briefly: another process may register the device any moment,
      // and registrations are not broadcast like revocations are.
      cache.set(deviceId, { key, until: now() + (key ? ttlMs : Math.min(ttlMs, negativeTtlMs)) });
      return key;
    },
    forget(deviceId) {
      cache.delete(deviceId);
    },
  };
}
