// Device keys and revocation, read from the registry's Redis hashes (the orchestrator writes
// them) through a bounded LRU cache with TTL, so a reconnect storm costs one lookup per device
// per TTL. Concurrent lookups of one id share one Redis round trip. No verification here.
import { decodeDeviceRecord, registryKeys } from '../../state/device-record.js';
import { importDevicePublicKey, type DeviceVerifyKey } from './verify-connect-token.js';

export type DeviceKeyLookup =
  | { status: 'active'; key: DeviceVerifyKey }
  | { status: 'revoked' }
  | { status: 'unknown' }
  | { status: 'bad_key' };

/** The one Redis call the cache makes. */
export interface RegistryReader {
  hgetall(key: string): Promise<Record<string, string>>;
}

export interface DeviceKeyCacheOptions {
  redis: RegistryReader;
  keyPrefix: string;
  maxEntries: number;
  ttlMs: number;
  negativeTtlMs: number;
  timeoutMs: number;
  /** Monotonic milliseconds (cache ages only; not wall-clock time). */
  clock?: () => number;
}

export class RegistryUnavailableError extends Error {
  readonly code = 'ERR_REGISTRY_UNAVAILABLE';
}

interface Entry {
  value: DeviceKeyLookup;
  expiresAt: number;
}

export class DeviceKeyCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<DeviceKeyLookup>>();
  /** Bumped by every invalidation: a lookup that overlapped one does not cache its (maybe stale) answer. */
  private epoch = 0;
  private readonly keys: ReturnType<typeof registryKeys>;
  private readonly clock: () => number;
  hits = 0;
  misses = 0;

  constructor(private readonly options: DeviceKeyCacheOptions) {
    this.keys = registryKeys(options.keyPrefix);
    this.clock = options.clock ?? (() => performance.now());
  }

  /** Changes on every invalidation (see epoch). */
  get generation(): number {
    return this.epoch;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Throws RegistryUnavailableError when Redis fails or is slower than the timeout. */
  async lookup(deviceId: string): Promise<DeviceKeyLookup> {
    const now = this.clock();
    const entry = this.entries.get(deviceId);
    if (entry && entry.expiresAt > now) {
      // LRU: re-insert so the least recently used id is first in iteration order.
      this.entries.delete(deviceId);
      this.entries.set(deviceId, entry);
      this.hits++;
      return entry.value;
    }
    if (entry) this.entries.delete(deviceId);
    const pending = this.inflight.get(deviceId);
    if (pending) {
      this.hits++;
      return pending;
    }
    this.misses++;
    const promise = this.fetch(deviceId).finally(() => {
      if (this.inflight.get(deviceId) === promise) this.inflight.delete(deviceId);
    });
    this.inflight.set(deviceId, promise);
    return promise;
  }

  /** Drops the id (revocation, key change): the next lookup reads Redis. */
  invalidate(deviceId: string): void {
    this.entries.delete(deviceId);
    this.inflight.delete(deviceId);
    this.epoch++;
  }

  clear(): void {
    this.entries.clear();
  }

  private async fetch(deviceId: string): Promise<DeviceKeyLookup> {
    const epoch = this.epoch;
    const fields = await this.withTimeout(this.options.redis.hgetall(this.keys.device(deviceId)));
    const record = decodeDeviceRecord(fields);
    let value: DeviceKeyLookup;
    if (record === undefined || record.id !== deviceId) value = { status: 'unknown' };
    else if (record.revoked) value = { status: 'revoked' };
    else {
      const key = await importDevicePublicKey(record.publicKey);
      value = key === undefined ? { status: 'bad_key' } : { status: 'active', key };
    }
    if (epoch !== this.epoch) return value;
    const ttl = value.status === 'unknown' ? this.options.negativeTtlMs : this.options.ttlMs;
    if (ttl > 0) this.store(deviceId, { value, expiresAt: this.clock() + ttl });
    return value;
  }

  private store(deviceId: string, entry: Entry): void {
    this.entries.delete(deviceId);
    while (this.entries.size >= this.options.maxEntries) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
    this.entries.set(deviceId, entry);
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new RegistryUnavailableError('device registry lookup timed out')), this.options.timeoutMs);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(new RegistryUnavailableError(`device registry lookup failed: ${(error as Error).message}`));
        },
      );
    });
  }
}
