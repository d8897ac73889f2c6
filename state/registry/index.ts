// The registry's Redis boundary: device shards, key names, and the typed operations the
// orchestrator's registry, the broker and ingestion call. Re-exports only.
export { DEVICE_SHARD_COUNT, DEVICE_SHARDS, deviceShard, deviceShardTag, fnv1a32 } from './device-shard.js';
export { deviceHistoryKey, deviceKey, deviceTag } from './device-keys.js';
export { changedKey, classesKey, fleetCountersKey, fleetRecountKey, indexKey, revokedChannel, type DeviceIndex } from './keys.js';
export { DEVICE_CHANGE_HORIZON_MS, devicesChangedSince, redisNowMs, type ChangedDevices } from './device-changes.js';
export { registerDevices, type NewDevice } from './register-devices.js';
export { updateDevices, UpdateRaceError, type DeviceUpdate, type UpdateOutcome } from './update-devices.js';
export { revokeDevice, type RevokeOutcome } from './revoke-device.js';
export { readDevice, readDeviceField, readDevices, type PlainDeviceField } from './read-devices.js';
export { deviceClasses, indexMembers, indexSize, pageIndex, registeredAmong } from './device-index.js';
export { checkFleetCounters, readFleetCounts, sumFleetCounters, type FleetCounts } from './fleet-counters.js';
export { RECOUNT_CHUNK, recountFleetShard, type RecountOutcome } from './recount-fleet-counters.js';
export { recordPresence, type PresenceChange } from './record-presence.js';
export { DEVICE_KEY_CACHE_DEFAULTS, DeviceKeyCache, RegistryUnavailableError, type DeviceKeyCacheOptions, type DeviceKeyLookup, type RegistryReader } from './device-key-cache.js';
