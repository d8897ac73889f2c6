// The device registry service: one object binding the registry operations to a Redis connection
// and key prefix. Routes and the rollout engine call it; it speaks no HTTP, though its refusals
// are RegistryError codes (errors.ts; http/errors.ts gives their statuses).
import type { RedisClient as Redis } from '../../state/redis.js';
import { RegistryError } from './errors.js';
import type { DeviceRecord } from '../../state/device-record.js';
import { createFleetSummary, type FleetSummary } from './fleet-summary.js';
import { importDevices, type ImportResult } from './import-devices.js';
import type { ImportFormat } from './import-lines.js';
import type { KeyChecker } from './key-checker.js';
import { isAcceptableWireKey } from './acceptable-key.js';
import { installedSequences } from './installed-sequences.js';
import { lastAlive, type LastAlive } from './last-alive.js';
import { listDevices, type DeviceFilter, type DevicePage } from './list-devices.js';
import { DeviceKeyCache, readDevice as getDevice, registerDevices, revokeDevice, updateDevices } from '../../state/registry/index.js';
import { resolveTarget, type TargetSelector } from './resolve-target.js';
import { validateDeviceInput, validateDevicePatch } from './validate-device.js';
import { REGISTRY_LIMITS } from './limits.js';

export interface Registry {
  /** Registers one device; RegistryError invalid_*, device_exists. */
  register(input: unknown): Promise<DeviceRecord>;
  /** Bulk import from a streamed NDJSON or CSV body. */
  import(source: AsyncIterable<Buffer | string>, format: ImportFormat, options: { maxBytes: number; upsert?: boolean }): Promise<ImportResult>;
  /** Replaces groups/tags and merges attributes; RegistryError bad_schema, invalid_*, not_found, too_many_attributes. */
  patch(deviceId: string, input: unknown): Promise<DeviceRecord>;
  /** Revokes and publishes the id on the revocation channel; RegistryError not_found if unknown. */
  revoke(deviceId: string): Promise<DeviceRecord>;
  get(deviceId: string): Promise<DeviceRecord | undefined>;
  list(filter: DeviceFilter, page: { cursor?: string; limit?: number }): Promise<DevicePage>;
  /** Sorted ids of the devices a rollout targets (resolve-target.ts). */
  resolveTarget(selector: TargetSelector): Promise<string[]>;
  /** The installed sequence each device last reported (undefined: none yet), in input order. */
  installedSequences(deviceIds: readonly string[]): Promise<Array<number | undefined>>;
  /** Whether each device is online, and when it was last known alive (last-alive.ts), in input order. */
  lastAlive(deviceIds: readonly string[]): Promise<LastAlive[]>;
  /** The registered key of a device that is not revoked (cached; a revocation anywhere drops it at once). */
  getPublicKey(deviceId: string): Promise<Uint8Array | undefined>;
  /** Drops a cached key. */
  forgetPublicKey(deviceId: string): void;
  /** Closes the cache's revocation subscription. */
  close(): Promise<void>;
  /** Fleet counts from the counters kept per device shard (fleet-summary.ts). */
  summary(): Promise<FleetSummary>;
  /** Recounts the fleet counters from the device records (the repair for any drift). */
  recountSummary(): Promise<void>;
}

export interface RegistryOptions {
  redis: Redis;
  prefix: string;
  keyChecker: KeyChecker;
  now?: () => Date;
}

export function createRegistry(options: RegistryOptions): Registry {
  const { redis, prefix, keyChecker } = options;
  const now = options.now ?? (() => new Date());
  // The one device-key cache (state/registry): it hears revocations from every process itself.
  const keys = new DeviceKeyCache(redis, prefix, {
    maxEntries: REGISTRY_LIMITS.publicKeyCacheEntries,
    ttlMs: REGISTRY_LIMITS.publicKeyCacheMs,
    negativeTtlMs: REGISTRY_LIMITS.publicKeyNegativeCacheMs,
  });
  const summary = createFleetSummary(redis, prefix, { now });

  return {
    async register(input) {
      const parsed = validateDeviceInput(input);
      if (!parsed.ok) throw new RegistryError(parsed.code, parsed.message);
      // A single key is checked in full whatever the import mode: ~1 ms.
      if (!isAcceptableWireKey(parsed.device.publicKey)) {
        throw new RegistryError('invalid_public_key', 'publicKey is not an acceptable Ed25519 public key (curve point of prime order)');
      }
      const [created] = await registerDevices(redis, prefix, [parsed.device], now());
      if (!created) throw new RegistryError('device_exists', `device ${parsed.device.id} is already registered`);
      keys.invalidate(parsed.device.id);
      const record = await getDevice(redis, prefix, parsed.device.id);
      if (!record) throw new Error('device vanished after registration');
      return record;
    },
    import: (source, format, importOptions) => importDevices(source, format, { redis, prefix, keyChecker, now, maxBytes: importOptions.maxBytes, upsert: importOptions.upsert ?? false }),
    async patch(deviceId, input) {
      const parsed = validateDevicePatch(input);
      if (!parsed.ok) throw new RegistryError(parsed.code, parsed.message);
      const [outcome] = await updateDevices(redis, prefix, [{ id: deviceId, ...parsed.patch }], REGISTRY_LIMITS.maxAttributesPerDevice);
      if (outcome === 'not_found') throw new RegistryError('not_found', `device ${deviceId} not found`);
      if (outcome === 'too_many_attributes') throw new RegistryError('too_many_attributes', `device ${deviceId} would have more than ${REGISTRY_LIMITS.maxAttributesPerDevice} attributes`);
      const record = await getDevice(redis, prefix, deviceId);
      if (!record) throw new RegistryError('not_found', `device ${deviceId} not found`);
      return record;
    },
    async revoke(deviceId) {
      const outcome = await revokeDevice(redis, prefix, deviceId, now());
      keys.invalidate(deviceId);
      if (outcome === 'not_found') throw new RegistryError('not_found', `device ${deviceId} not found`);
      const record = await getDevice(redis, prefix, deviceId);
      if (!record) throw new RegistryError('not_found', `device ${deviceId} not found`);
      return record;
    },
    get: (deviceId) => getDevice(redis, prefix, deviceId),
    list: (filter, page) => listDevices(redis, prefix, filter, page),
    resolveTarget: (selector) => resolveTarget(redis, prefix, selector),
    installedSequences: (deviceIds) => installedSequences(redis, prefix, deviceIds),
    lastAlive: (deviceIds) => lastAlive(redis, prefix, deviceIds),
    getPublicKey: (deviceId) => keys.get(deviceId),
    forgetPublicKey: (deviceId) => keys.invalidate(deviceId),
    close: () => keys.close(),
    summary: () => summary.get(),
    recountSummary: () => summary.recount(),
  };
}
