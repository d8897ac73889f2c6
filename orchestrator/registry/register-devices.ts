// Writes new device records: one Lua call per batch creates each record and its index entries
// atomically, and leaves an existing id untouched (no silent key replacement). No validation here.
import type { Redis } from 'ioredis';
import { encodeDeviceRecord, registryKeys } from '../../state/device-record.js';
import { luaScript, runLua } from './lua.js';
import type { DeviceInput } from './validate-device.js';

// ARGV: deviceCount, then per device: deviceKey, id, fieldCount, fields (name, value)...,
// indexCount, indexKeys..., classMember. KEYS: deviceIndex, classes. Returns 1 created / 0 exists.
// Index entries are collected per key and written with one multi-member ZADD each: far fewer
// calls than one ZADD per device and index.
const REGISTER = luaScript('register-devices', `
local n = tonumber(ARGV[1])
local at = 2
local out = {}
local zsets = {}
local classes = {}
local function add(key, id)
  local members = zsets[key]
  if not members then members = {}; zsets[key] = members end
  members[#members + 1] = 0
  members[#members + 1] = id
end
for i = 1, n do
  local key, id = ARGV[at], ARGV[at + 1]
  local fieldCount = tonumber(ARGV[at + 2])
  local fieldsAt = at + 3
  local indexAt = fieldsAt + fieldCount * 2
  local indexCount = tonumber(ARGV[indexAt])
  local classMember = ARGV[indexAt + indexCount + 1]
  at = indexAt + indexCount + 2
  if redis.call('EXISTS', key) == 1 then
    out[i] = 0
  else
    redis.call('HSET', key, unpack(ARGV, fieldsAt, indexAt - 1))
    add(KEYS[1], id)
    for j = indexAt + 1, indexAt + indexCount do add(ARGV[j], id) end
    classes[classMember] = true
    out[i] = 1
  end
end
for key, members in pairs(zsets) do
  -- unpack stays well below Lua's C stack limit (8000 values).
  for from = 1, #members, 4000 do
    redis.call('ZADD', key, unpack(members, from, math.min(from + 3999, #members)))
  end
end
for member in pairs(classes) do redis.call('SADD', KEYS[2], member) end
return out
`);

/** Creates each device that does not exist yet; one boolean per input (false: id taken). */
export async function registerDevices(redis: Redis, prefix: string, devices: readonly DeviceInput[], now: Date): Promise<boolean[]> {
  if (devices.length === 0) return [];
  const keys = registryKeys(prefix);
  const createdAt = now.toISOString();
  const args: Array<string | number> = [devices.length];
  for (const device of devices) {
    const fields = encodeDeviceRecord({ ...device, revoked: false, createdAt });
    const names = Object.keys(fields);
    args.push(keys.device(device.id), device.id, names.length);
    for (const name of names) args.push(name, fields[name]!);
    const indexes = [
      keys.deviceClass(device.vendorId, device.classId),
      ...device.groups.map((group) => keys.group(group)),
      ...device.tags.map((tag) => keys.tag(tag)),
    ];
    args.push(indexes.length, ...indexes, `${device.vendorId}/${device.classId}`);
  }
  const reply = (await runLua(redis, REGISTER, [keys.deviceIndex, keys.classes], args)) as number[];
  return reply.map((created) => created === 1);
}
