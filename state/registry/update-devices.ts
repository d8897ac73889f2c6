// Changes existing device records: groups and tags replaced (their index entries moved in the
// same step), attributes merged (null removes one). One Lua call per device shard, atomic per
// device. The script declares every index key it touches, so the groups and tags a device had
// are read first and passed in; the script refuses to act when they changed in between
// (another writer raced it) and the batch retries those devices with fresh reads.
import type { RedisClient as Redis } from '../redis.js';
import { FleetError } from '../../runtime/errors.js';
import { luaScript, runLua } from '../lua.js';
import { deviceKey } from './device-keys.js';
import { deviceShard } from './device-shard.js';
import { changedKey, indexKey } from './keys.js';
import { MARK_CHANGED_LUA } from './device-changes.js';

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

/**
 * Rounds of re-reading a device's groups and tags when writers race on it. Every round one of
 * the writers racing on a device wins (the first script to run after the last change), so the
 * rounds needed are at most the writers racing on one device: this bound is far above any real
 * count and only stops a runaway loop.
 */
const MAX_UPDATE_ROUNDS = 100;

/** Devices kept changing under a bulk update for MAX_UPDATE_ROUNDS rounds (runtime/errors.ts family). */
export class UpdateRaceError extends FleetError<'device_update_race'> {
  constructor(message: string) {
    super('device_update_race', message);
  }
}

// ARGV: maxAttributes, count, then per device 12 values: id, expected publicKey ('' any),
// expected "vendor/class" ('' any), groups JSON ('' keep), tags JSON ('' keep), attributes patch
// JSON ('' keep), groups JSON as read, tags JSON as read, then the counts of old group, new
// group, old tag and new tag index keys. KEYS: the shard's changed set (device-changes.ts), then per device: record hash, then those index keys in
// that order. Returns one outcome per device; 'changed' when the groups or tags read before
// are no longer the stored ones.
const UPDATE = luaScript('update-devices', `${MARK_CHANGED_LUA}
local maxAttributes, n = tonumber(ARGV[1]), tonumber(ARGV[2])
local out = {}
local at, k = 3, 2
trimChanged(KEYS[1])
for i = 1, n do
  local id, wantKey, wantClass = ARGV[at], ARGV[at + 1], ARGV[at + 2]
  local groups, tags, patch = ARGV[at + 3], ARGV[at + 4], ARGV[at + 5]
  local seenGroups, seenTags = ARGV[at + 6], ARGV[at + 7]
  local key = KEYS[k]
  local oldGroups = k + 1
  local newGroups = oldGroups + tonumber(ARGV[at + 8])
  local oldTags = newGroups + tonumber(ARGV[at + 9])
  local newTags = oldTags + tonumber(ARGV[at + 10])
  k = newTags + tonumber(ARGV[at + 11])
  at = at + 12
  local stored = redis.call('HMGET', key, 'publicKey', 'vendorId', 'classId', 'attributes', 'groups', 'tags')
  if not stored[1] then
    out[i] = 'not_found'
  elseif wantKey ~= '' and stored[1] ~= wantKey then
    out[i] = 'public_key_differs'
  elseif wantClass ~= '' and (stored[2] .. '/' .. stored[3]) ~= wantClass then
    out[i] = 'class_differs'
  elseif (groups ~= '' and (stored[5] or '[]') ~= seenGroups) or (tags ~= '' and (stored[6] or '[]') ~= seenTags) then
    out[i] = 'changed'
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
      if groups ~= '' then
        for j = oldGroups, newGroups - 1 do redis.call('ZREM', KEYS[j], id) end
        for j = newGroups, oldTags - 1 do redis.call('ZADD', KEYS[j], 0, id) end
        redis.call('HSET', key, 'groups', groups)
      end
      if tags ~= '' then
        for j = oldTags, newTags - 1 do redis.call('ZREM', KEYS[j], id) end
        for j = newTags, k - 1 do redis.call('ZADD', KEYS[j], 0, id) end
        redis.call('HSET', key, 'tags', tags)
      end
      if attributes then
        -- cjson encodes an empty table as {}: the right answer for a map.
        redis.call('HSET', key, 'attributes', count == 0 and '{}' or cjson.encode(attributes))
      end
      markChanged(KEYS[1], id)
      out[i] = 'updated'
    end
  end
end
return out
`);

function names(json: string): string[] {
  try {
    const value = JSON.parse(json) as unknown;
    return Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string') : [];
  } catch {
    return [];
  }
}

async function updateShard(redis: Redis, prefix: string, shard: number, updates: readonly DeviceUpdate[], maxAttributes: number): Promise<Array<UpdateOutcome | 'changed'>> {
  // The groups and tags stored now: their index entries are the ones to remove.
  const seen = await Promise.all(updates.map((u) => (u.groups || u.tags ? redis.hmget(deviceKey(prefix, u.id), 'groups', 'tags') : Promise.resolve([null, null]))));
  const keys: string[] = [changedKey(prefix, shard)];
  const args: Array<string | number> = [maxAttributes, updates.length];
  updates.forEach((u, i) => {
    const seenGroups = seen[i]![0] ?? '[]';
    const seenTags = seen[i]![1] ?? '[]';
    const oldGroups = u.groups ? names(seenGroups).map((name) => indexKey(prefix, shard, { kind: 'group', name })) : [];
    const newGroups = u.groups ? u.groups.map((name) => indexKey(prefix, shard, { kind: 'group', name })) : [];
    const oldTags = u.tags ? names(seenTags).map((name) => indexKey(prefix, shard, { kind: 'tag', name })) : [];
    const newTags = u.tags ? u.tags.map((name) => indexKey(prefix, shard, { kind: 'tag', name })) : [];
    keys.push(deviceKey(prefix, u.id), ...oldGroups, ...newGroups, ...oldTags, ...newTags);
    args.push(
      u.id,
      u.expectPublicKey ?? '',
      u.expectClass ? `${u.expectClass.vendorId}/${u.expectClass.classId}` : '',
      u.groups ? JSON.stringify(u.groups) : '',
      u.tags ? JSON.stringify(u.tags) : '',
      u.attributes ? JSON.stringify(u.attributes) : '',
      seenGroups,
      seenTags,
      oldGroups.length,
      newGroups.length,
      oldTags.length,
      newTags.length,
    );
  });
  return (await runLua(redis, UPDATE, keys, args)) as Array<UpdateOutcome | 'changed'>;
}

/** One outcome per update, in input order. Throws UpdateRaceError if a device kept changing under it. */
export async function updateDevices(redis: Redis, prefix: string, updates: readonly DeviceUpdate[], maxAttributes: number): Promise<UpdateOutcome[]> {
  const out = new Array<UpdateOutcome>(updates.length);
  let pending = updates.map((_, i) => i);
  for (let round = 0; pending.length > 0; round++) {
    if (round === MAX_UPDATE_ROUNDS) throw new UpdateRaceError(`devices kept changing during the update: ${pending.map((i) => updates[i]!.id).join(', ')}`);
    const byShard = new Map<number, number[]>();
    for (const i of pending) {
      const shard = deviceShard(updates[i]!.id);
      const positions = byShard.get(shard);
      if (positions) positions.push(i);
      else byShard.set(shard, [i]);
    }
    const changed: number[] = [];
    await Promise.all(
      [...byShard].map(async ([shard, positions]) => {
        const outcomes = await updateShard(redis, prefix, shard, positions.map((i) => updates[i]!), maxAttributes);
        positions.forEach((i, j) => {
          const outcome = outcomes[j]!;
          if (outcome === 'changed') changed.push(i);
          else out[i] = outcome;
        });
      }),
    );
    pending = changed.sort((a, b) => a - b);
  }
  return out;
}
