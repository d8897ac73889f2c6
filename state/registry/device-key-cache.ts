// The one device-key cache: device public keys and revocation, read from the registry's records
// through a bounded LRU (lru-cache) with time to live, and dropped the moment a device is
// revoked, through the registry's revocation channel (revoke-device.ts publishes in the same
// script that marks the record). The broker (connect), the HTTP registry and status ingestion
// all use this class. Concurrent lookups of one id share one Redis round trip; a lookup that
// overlapped a revocation does not cache its (maybe stale) answer. No signature checks here.
import { duplicateRedis, type RedisClient as Redis } from '../redis.js';
import { LRUCache } from 'lru-cache';
import { FleetError } from '../../runtime/errors.js';
import { decodePublicKey, isDeviceId } from '../../protocol/index.js';
import { deviceKey } from './device-keys.js';
import { revokedChannel } from './keys.js';

export type DeviceKeyLookup<K> = { status: 'active'; key: K } | { status: 'revoked' } | { status: 'unknown' } | { status: 'bad_key' };

/** The Redis calls the cache makes (an ioredis client; tests may pass a fake). */
export interface RegistryReader {
  pipeline(): { hmget(key: string, ...fields: string[]): unknown; exec(): Promise<Array<[Error | null, unknown]> | null> };
}

export interface DeviceKeyCacheOptions<K> {
  /**
   * Turns a registered key (base64url of 32 bytes) into what the caller verifies with; undefined
   * for a key it cannot use (`bad_key`). Default: the raw bytes (protocol's decodePublicKey).
   */
  importKey?: (publicKey: string) => K | undefined | Promise<K | undefined>;
  maxEntries?: number;
  /** How long a known key (or a revocation) is kept: revocations never wait for it (see header). */
  ttlMs?: number;
  /** How long "unknown" is kept: registrations are not broadcast, so briefly. */
  negativeTtlMs?: number;
  /** A lookup slower than this fails with RegistryUnavailableError (default: no limit). */
  timeoutMs?: number;
  /** Monotonic milliseconds for entry ages (lru-cache 10 reads its own clock, so ages are kept here). */
  clock?: () => number;
  /**
   * Where revocations come from. `auto` (default for an ioredis client): a connection of the
   * cache's own (`duplicate()`, closed when the reader's connection ends or on close()),
   * subscribed before the first read. `none`: the owner calls listen() or invalidate().
   */
  revocations?: 'auto' | 'none';
}

export const DEVICE_KEY_CACHE_DEFAULTS = {
  maxEntries: 200_000,
  ttlMs: 30_000,
  negativeTtlMs: 2_000,
} as const;

/** Redis failed or was slower than the timeout: the broker refuses the CONNECT (server unavailable). */
export class RegistryUnavailableError extends FleetError<'registry_unavailable'> {
  constructor(message: string) {
    super('registry_unavailable', message);
  }
}

interface Entry<K> {
  value: DeviceKeyLookup<K>;
  expiresAt: number;
}

type Subscriber = Pick<Redis, 'on' | 'subscribe' | 'quit' | 'disconnect'>;

export class DeviceKeyCache<K = Uint8Array> {
  private readonly entries: LRUCache<string, Entry<K>>;
  private readonly inflight = new Map<string, Promise<DeviceKeyLookup<K>>>();
  /** Bumped by every invalidation: a read that overlapped one does not cache its answer. */
  private epoch = 0;
  private readonly importKey: (publicKey: string) => K | undefined | Promise<K | undefined>;
  private readonly clock: () => number;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private listening: Promise<void> | undefined;
  /** Subscribed (or no subscription wanted): reads go out at once, with no await before them. */
  private ready = false;
  private subscriber: Subscriber | undefined;
  hits = 0;
  misses = 0;

  constructor(
    private readonly redis: RegistryReader,
    private readonly prefix: string,
    private readonly options: DeviceKeyCacheOptions<K> = {},
  ) {
    this.entries = new LRUCache({ max: options.maxEntries ?? DEVICE_KEY_CACHE_DEFAULTS.maxEntries });
    // Without importKey, K is the default Uint8Array: the raw key bytes.
    this.importKey = options.importKey ?? ((publicKey) => decodePublicKey(publicKey) as K | undefined);
    this.clock = options.clock ?? (() => performance.now());
    this.ttlMs = options.ttlMs ?? DEVICE_KEY_CACHE_DEFAULTS.ttlMs;
    this.negativeTtlMs = options.negativeTtlMs ?? DEVICE_KEY_CACHE_DEFAULTS.negativeTtlMs;
    this.ready = options.revocations === 'none' || typeof (redis as Partial<Redis>).duplicate !== 'function';
  }

  /** Changes on every invalidation (see epoch): a decision taken across one is re-taken. */
  get generation(): number {
    return this.epoch;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Keys of the registered, non-revoked devices among `ids` (ingestion's batch call). */
  async lookup(ids: Iterable<string>): Promise<Map<string, K>> {
    const found = new Map<string, K>();
    const results = await this.lookupMany(ids);
    for (const [id, result] of results) if (result.status === 'active') found.set(id, result.key);
    return found;
  }

  /** The key of one device, or why there is none. Throws RegistryUnavailableError when Redis fails or is too slow. */
  async lookupOne(deviceId: string): Promise<DeviceKeyLookup<K>> {
    return (await this.lookupMany([deviceId])).get(deviceId)!;
  }

  /** The key of a registered, non-revoked device (the HTTP registry's getPublicKey). */
  async get(deviceId: string): Promise<K | undefined> {
    const result = await this.lookupOne(deviceId);
    return result.status === 'active' ? result.key : undefined;
  }

  /** Drops the id (revocation, registration, key change): the next lookup reads Redis. */
  invalidate(deviceId: string): void {
    this.entries.delete(deviceId);
    this.inflight.delete(deviceId);
    this.epoch++;
  }

  clear(): void {
    this.entries.clear();
    this.inflight.clear();
    this.epoch++;
  }

  /**
   * Subscribes `subscriber` (a connection of its own: a subscribed connection runs nothing else)
   * to the revocation channel: each revoked id is dropped at once. When the subscription comes
   * back after an outage, revocations may have been missed: every entry is dropped. `onRevoked`
   * hears each revoked id after the cache dropped it (the broker closes the device's connection).
   */
  async listen(subscriber: Subscriber, onRevoked?: (deviceId: string) => void): Promise<void> {
    const channel = revokedChannel(this.prefix);
    let ready = false;
    subscriber.on('message', (from: string, message: string) => {
      if (from !== channel || !isDeviceId(message)) return;
      this.invalidate(message);
      onRevoked?.(message);
    });
    subscriber.on('ready', () => {
      if (ready) this.clear();
    });
    await subscriber.subscribe(channel);
    ready = true;
  }

  /** Closes the connection `auto` revocations opened (if any). */
  async close(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.listening = Promise.resolve();
    this.ready = true;
    if (subscriber) await subscriber.quit().catch(() => subscriber.disconnect());
  }

  private ensureListening(): Promise<void> {
    if (this.listening) return this.listening;
    const client = this.redis as Partial<Redis>;
    if (this.options.revocations === 'none' || typeof client.duplicate !== 'function') {
      this.ready = true;
      this.listening = Promise.resolve();
      return this.listening;
    }
    const subscriber = duplicateRedis(client as Redis);
    this.subscriber = subscriber;
    // The reader's connection ending (its owner quit it) ends the subscription too.
    client.once?.('end', () => void this.close());
    this.listening = this.listen(subscriber).then(() => {
      this.ready = true;
    }, (error: unknown) => {
      // Try again on the next lookup; until subscribed, nothing is read (or cached).
      this.listening = undefined;
      this.subscriber = undefined;
      subscriber.disconnect();
      throw error;
    });
    return this.listening;
  }

  private async lookupMany(ids: Iterable<string>): Promise<Map<string, DeviceKeyLookup<K>>> {
    const now = this.clock();
    const out = new Map<string, DeviceKeyLookup<K>>();
    const waiting: Array<[string, Promise<DeviceKeyLookup<K>>]> = [];
    const missing: string[] = [];
    for (const id of new Set(ids)) {
      const entry = this.entries.get(id);
      if (entry && entry.expiresAt > now) {
        this.hits++;
        out.set(id, entry.value);
        continue;
      }
      if (entry) this.entries.delete(id);
      const pending = this.inflight.get(id);
      if (pending) {
        this.hits++;
        waiting.push([id, pending]);
      } else {
        this.misses++;
        missing.push(id);
      }
    }
    if (missing.length > 0) {
      const batch = this.fetch(missing);
      missing.forEach((id) => {
        const one = batch.then((values) => values.get(id)!);
        // Awaited below (or by a concurrent lookup); this only keeps a failure from going unhandled here.
        one.catch(() => {});
        const settled = one.finally(() => {
          if (this.inflight.get(id) === settled) this.inflight.delete(id);
        });
        settled.catch(() => {});
        this.inflight.set(id, settled);
        waiting.push([id, settled]);
      });
    }
    for (const [id, pending] of waiting) out.set(id, await pending);
    return out;
  }

  private async fetch(ids: readonly string[]): Promise<Map<string, DeviceKeyLookup<K>>> {
    if (!this.ready) await this.withTimeout(this.ensureListening());
    // Taken before the read goes out: an invalidation while it is in flight keeps its answer uncached.
    const epoch = this.epoch;
    const pipeline = this.redis.pipeline();
    for (const id of ids) pipeline.hmget(deviceKey(this.prefix, id), 'id', 'publicKey', 'revoked');
    const replies = (await this.withTimeout(pipeline.exec())) ?? [];
    const out = new Map<string, DeviceKeyLookup<K>>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const [error, fields] = replies[i] ?? [new Error('no reply'), null];
      if (error) throw new RegistryUnavailableError(`device registry lookup failed: ${error.message}`);
      const [storedId, publicKey, revoked] = (fields ?? []) as Array<string | null>;
      let value: DeviceKeyLookup<K>;
      if (!publicKey || storedId !== id) value = { status: 'unknown' };
      else if (revoked === '1') value = { status: 'revoked' };
      else {
        const key = await this.importKey(publicKey);
        value = key === undefined ? { status: 'bad_key' } : { status: 'active', key };
      }
      out.set(id, value);
      if (epoch !== this.epoch) continue;
      const ttl = value.status === 'unknown' ? this.negativeTtlMs : this.ttlMs;
      if (ttl > 0) this.entries.set(id, { value, expiresAt: this.clock() + ttl });
    }
    return out;
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    const timeoutMs = this.options.timeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(() => reject(new RegistryUnavailableError('device registry lookup timed out')), timeoutMs);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof RegistryUnavailableError ? error : new RegistryUnavailableError(`device registry lookup failed: ${(error as Error).message}`));
        },
      );
    });
  }
}
