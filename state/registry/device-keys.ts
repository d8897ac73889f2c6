// Key names of one device: its record hash and its history list. The only place these names
// are built; Lua scripts receive them in KEYS, never build them from the prefix.
//
// Both keys carry the device's shard tag (device-shard.ts), so on Redis Cluster a device's record,
// its history and its registry index entries share a slot, and devices spread over 16 slots:
//   record   `${prefix}{dev:<shard>}:device:<id>`
//   history  `${prefix}{dev:<shard>}:device:<id>:history`
// On a single Redis the braces are plain characters. Pre-1.0: no migration of the older
// untagged `${prefix}device:<id>` names (README, "Redis keys").
import { slotKey } from '../keys.js';
import { deviceShard, deviceShardTag } from './device-shard.js';

/** Hash tag of the shard that holds `deviceId`: `dev:<shard>`. */
export function deviceTag(deviceId: string): string {
  return deviceShardTag(deviceShard(deviceId));
}

/** The device record hash (DeviceRecord fields, state/device-record.ts). */
export function deviceKey(prefix: string, deviceId: string): string {
  return slotKey(prefix, deviceTag(deviceId), 'device', deviceId);
}

/** The device's state-transition history (a capped list, newest first), same slot as its record. */
export function deviceHistoryKey(prefix: string, deviceId: string): string {
  return slotKey(prefix, deviceTag(deviceId), 'device', deviceId, 'history');
}
