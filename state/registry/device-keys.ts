// Key names of one device: its record hash and its history list. The only place these names
// are built; Lua scripts receive them in KEYS, never build them from the prefix.
//
// Target layout (Redis Cluster): both keys carry the device's shard tag (device-shard.ts), so a
// device's record and history share a slot and devices spread over 16 slots:
//   record   `${prefix}{dev:<shard>}:device:<id>`
//   history  `${prefix}{dev:<shard>}:device:<id>:history`
// Until every writer takes the names from here (the rollout scripts and ingestion still build
// `prefix .. 'device:' .. id` in Lua), the names stay the untagged `${prefix}device:<id>[:history]`:
// switching one writer alone would split a device's record in two. The switch is the one line in
// each builder below (TAGGED_DEVICE_KEYS), made once no name is built elsewhere.
import { slotKey } from '../keys.js';
import { deviceShard, deviceShardTag } from './device-shard.js';

/** Whether device keys carry the shard tag yet (see the header: flipped once, for every writer). */
export const TAGGED_DEVICE_KEYS = false;

/** Hash tag of the shard that holds `deviceId`: `dev:<shard>`. */
export function deviceTag(deviceId: string): string {
  return deviceShardTag(deviceShard(deviceId));
}

/** The device record hash (DeviceRecord fields, state/device-record.ts). */
export function deviceKey(prefix: string, deviceId: string): string {
  return TAGGED_DEVICE_KEYS ? slotKey(prefix, deviceTag(deviceId), 'device', deviceId) : `${prefix}device:${deviceId}`;
}

/** The device's state-transition history (a capped list, newest first), same slot as its record. */
export function deviceHistoryKey(prefix: string, deviceId: string): string {
  return TAGGED_DEVICE_KEYS ? slotKey(prefix, deviceTag(deviceId), 'device', deviceId, 'history') : `${prefix}device:${deviceId}:history`;
}
