// Writes new device records: one Lua call per device shard creates each record and its index
// entries atomically, and leaves an existing id untouched (no silent key replacement). No
// validation here (the orchestrator's registry validates before it calls).
import type { RedisClient as Redis } from '../redis.js';
import { encodeDeviceRecord, type DeviceRecord } from '../device-record.js';
import { luaScript, runLua } from '../lua.js';
import { COUNTER_LUA } from './fleet-counters.js';
import { deviceKey } from './device-keys.js';
import { deviceShard } from './device-shard.js';
import { changedKey, classesKey, fleetCountersKey, fleetRecountKey, indexKey } from './keys.js';
import { MARK_CHANGED_LUA } from './device-changes.js';

/** What registration stores; the rest of a DeviceRecord is filled in here or by later writers. */
export type NewDevice = Pick<DeviceRecord, 'id' | 'publicKey' | 'vendorId' | 'classId' | 'groups' | 'tags'>;

// KEYS: shard's device index, shard's classes set, shard's changed set (device-changes.ts), its
// fleet counters and their recount (fleet-counters.ts), then per device: its record hash and its
// index keys (class, groups..., tags...). ARGV: deviceCount, then per device: id, fieldCount,
// fields (name, value)..., indexCount, classMember. Returns 1 created / 0 exists per device.
// Index entries are collected per key and written with one multi-member ZADD each: far fewer
// calls than one ZADD per device and index.
const REGISTER = luaScript('register-devices', `${MARK_CHANGED_LUA}
local COUNTERS, RECOUNT = KEYS[4], KEYS[5]
${COUNTER_LUA}
local n = tonumber(ARGV[1])
local at = 2
local k = 6
trimChanged(KEYS[3])
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
  local key, id = KEYS[k], ARGV[at]
  local fieldCount = tonumber(ARGV[at + 1])
  local fieldsAt = at + 2
  local indexAt = fieldsAt + fieldCount * 2
  local indexCount = tonumber(ARGV[indexAt])
  local classMember = ARGV[indexAt + 1]
  at = indexAt + 2
  if redis.call('EXISTS', key) == 1 then
    out[i] = 0
  else
    redis.call('HSET', key, unpack(ARGV, fieldsAt, indexAt - 1))
    add(KEYS[1], id)
    for j = k + 1, k + indexCount do add(KEYS[j], id) end
    classes[classMember] = true
    markChanged(KEYS[3], id)
    bump(id, 'total', 1)
    bump(id, 'class:' .. classMember, 1)
    bump(id, 'release:', 1)
    out[i] = 1
  end
  k = k + 1 + indexCount
end
for key, members in pairs(zsets) do
  -- unpack stays well below Lua's C stack limit (8000 values).
  for from = 1, #members, 4000 do
    redis.call('ZADD', key, unpack(members, from, math.min(from + 3999, #members)))
  end
end
for member in pairs(classes) do redis.call('SADD', KEYS[2], member) end
flushCounts()
return out
`);

async function registerShard(redis: Redis, prefix: string, shard: number, devices: ReadonlyArray<NewDevice>, createdAt: string): Promise<boolean[]> {
  const keys: string[] = [indexKey(prefix, shard, { kind: 'all' }), classesKey(prefix, shard), changedKey(prefix, shard), fleetCountersKey(prefix, shard), fleetRecountKey(prefix, shard)];
  const args: Array<string | number> = [devices.length];
  for (const device of devices) {
    const fields = encodeDeviceRecord({ ...device, revoked: false, createdAt });
    const names = Object.keys(fields);
    args.push(device.id, names.length);
    for (const name of names) args.push(name, fields[name]!);
    const indexes = [
      indexKey(prefix, shard, { kind: 'class', vendorId: device.vendorId, classId: device.classId }),
      ...device.groups.map((name) => indexKey(prefix, shard, { kind: 'group', name })),
      ...device.tags.map((name) => indexKey(prefix, shard, { kind: 'tag', name })),
    ];
    keys.push(deviceKey(prefix, device.id), ...indexes);
    args.push(indexes.length, `${device.vendorId}/${device.classId}`);
  }
  const reply = (await runLua(redis, REGISTER, keys, args)) as number[];
  return reply.map((created) => created === 1);
}

/** Creates each device that does not exist yet; one boolean per input, in input order (false: id taken). */
export async function registerDevices(redis: Redis, prefix: string, devices: readonly NewDevice[], now: Date): Promise<boolean[]> {
  if (devices.length === 0) return [];
  const createdAt = now.toISOString();
  const byShard = new Map<number, number[]>();
  devices.forEach((device, i) => {
    const shard = deviceShard(device.id);
    const positions = byShard.get(shard);
    if (positions) positions.push(i);
    else byShard.set(shard, [i]);
  });
  const out = new Array<boolean>(devices.length);
  await Promise.all(
    [...byShard].map(async ([shard, positions]) => {
      const created = await registerShard(redis, prefix, shard, positions.map((i) => devices[i]!), createdAt);
      positions.forEach((i, j) => (out[i] = created[j]!));
    }),
  );
  return out;
}
