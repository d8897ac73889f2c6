// Device public keys for report verification, cached briefly: a rollout verifies several
// reports per device, and a revocation reaches the cache within its time to live.
import type { Redis } from 'ioredis';
import { decodePublicKey } from '../../protocol/index.js';
import { registryKeys } from '../../state/device-record.js';

export const DEVICE_KEY_CACHE_TTL_MS = 30_000;
const MAX_ENTRIES = 200_000;

interface Entry { key?: Uint8Array; expires: number }

export class DeviceKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly keys;

  constructor(private readonly redis: Redis, prefix: string, private readonly ttlMs = DEVICE_KEY_CACHE_TTL_MS) {
    this.keys = registryKeys(prefix);
  }

  /** Keys of registered, non-revoked devices; one pipeline for the ids not cached. */
  async lookup(ids: Iterable<string>): Promise<Map<string, Uint8Array>> {
    const now = Date.now();
    const found = new Map<string, Uint8Array>();
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const entry = this.entries.get(id);
      if (entry && entry.expires > now) {
        if (entry.key) found.set(id, entry.key);
      } else {
        missing.push(id);
      }
    }
    if (missing.length > 0) {
      const pipe = this.redis.pipeline();
      for (const id of missing) pipe.hmget(this.keys.device(id), 'publicKey', 'revoked');
      const replies = (await pipe.exec()) ?? [];
      if (this.entries.size + missing.length > MAX_ENTRIES) this.entries.clear();
      missing.forEach((id, i) => {
        const [publicKey, revoked] = (replies[i]?.[1] ?? []) as Array<string | null>;
        const key = publicKey && revoked !== '1' ? decodePublicKey(publicKey) : undefined;
        this.entries.set(id, key ? { key, expires: now + this.ttlMs } : { expires: now + this.ttlMs });
        if (key) found.set(id, key);
      });
    }
    return found;
  }

  forget(id: string): void {
    this.entries.delete(id);
  }
}
