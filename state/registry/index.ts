// The registry's Redis boundary: device shards and key names (more operations join as they move
// here from orchestrator/registry). Re-exports only.
export { DEVICE_SHARD_COUNT, DEVICE_SHARDS, deviceShard, deviceShardTag, fnv1a32 } from './device-shard.js';
export { TAGGED_DEVICE_KEYS, deviceHistoryKey, deviceKey, deviceTag } from './device-keys.js';
