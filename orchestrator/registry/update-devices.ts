// Changes existing device records: groups and tags replaced (their indexes moved in the same
// step), attributes merged (null removes one). One Lua call per batch, atomic per device. Used by
// PATCH /v1/devices/:id and by an import with upsert, which may only touch a device whose key,
// vendor and class it repeats: a different key is a rotation, never a side effect of an import.
import type { Redis } from 'ioredis';
import { registryKeys } from '../../state/device-record.js';
import { REGISTRY_LIMITS } from './limits.js';
import { luaScript, runLua } from './lua.js';

export interface DeviceUpdate {
  id: string;
  /** Refuse (`public_key_differs`) unless the stored key is this one. */
  expectPublicKey?: string;
  /** Refuse (`class_differs`) unless the stored vendor/class is this one. */
  expectClass?: { vendorId: string; classId: string };
  groups?: string[];
  tags?: string[];
  /** Merged into the stored attributes; null removes a key. */
  attributes?: Record<string, string | null>;
}

export type UpdateOutcome = 'updated' | 'not_found' | 'public_key_differs' | 'class_differs' | 'too_many_attributes';

// ARGV: groupKeyPrefix, tagKeyPrefix, maxAttributes, count, then per device 7 values: hash key,
// id, expected publicKey ('' any), expected "vendor/class" ('' any), groups JSON ('' keep),
// tags JSON ('' keep), attributes patch JSON ('' keep). Returns one outcome string per device.
const UPDATE = luaScript('update-devices', `
local groupPrefix, tagPrefix, maxAttributes, n = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local out = {}
local function move(key, field, prefix, id, json)
  local old = cjson.decode(redis.call('HGET', key, field) or '[]')
  for _, name in ipairs(old) do redis.call('ZREM', prefix .. name, id) end
  for _, name in ipairs(cjson.decode(json)) do redis.call('ZADD', prefix .. name, 0, id) end
  redis.call('HSET', key, field, json)
end
for i = 1, n do
  local at = 5 + (i - 1) * 7
  local key, id, wantKey, wantClass = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local groups, tags, patch = ARGV[at + 4], ARGV[at + 5], ARGV[at + 6]
  local stored = redis.call('HMGET', key, 'publicKey', 'vendorId', 'classId', 'attributes')
  if not stored[1] then
    out[i] = 'not_found'
  elseif wantKey ~= '' and stored[1] ~= wantKey then
    out[i] = 'public_key_differs'
  elseif wantClass ~= '' and (stored[2] .. '/' .. stored[3]) ~= wantClass then
    out[i] = 'class_differs'
  else
    local attributes = nil
    local count = 0
    if patch ~= '' then
      attributes = cjson.decode(stored[4] or '{}')
      for name, value in pairs(cjson.decode(patch)) do
        if value == cjson.null then attributes[name] = nil else attributes[name] = value end
      end
      for _ in pairs(attributes) do count = count + 1 end
    end
    if attributes and count > maxAttributes then
      out[i] = 'too_many_attributes'
    else
      if groups ~= '' then move(key, 'groups', groupPrefix, id, groups) end
      if tags ~= '' then move(key, 'tags', tagPrefix, id, tags) end
      if attributes then
        -- cjson encodes an empty table as {}: the right answer for a map.
        redis.call('HSET', key, 'attributes', count == 0 and '{}' or cjson.encode(attributes))
      end
      out[i] = 'updated'
    end
  end
end
return out
`);

export async function updateDevices(redis: Redis, prefix: string, updates: readonly DeviceUpdate[], maxAttributes = REGISTRY_LIMITS.maxAttributesPerDevice): Promise<UpdateOutcome[]> {
  if (updates.length === 0) return [];
  const keys = registryKeys(prefix);
  const args: Array<string | number> = [keys.group(''), keys.tag(''), maxAttributes, updates.length];
  for (const u of updates) {
    args.push(
      keys.device(u.id),
      u.id,
      u.expectPublicKey ?? '',
      u.expectClass ? `${u.expectClass.vendorId}/${u.expectClass.classId}` : '',
      u.groups ? JSON.stringify(u.groups) : '',
      u.tags ? JSON.stringify(u.tags) : '',
      u.attributes ? JSON.stringify(u.attributes) : '',
    );
  }
  return (await runLua(redis, UPDATE, [], args)) as UpdateOutcome[];
}
