// The fleet's counters, kept per device shard (keys.ts: fleetCountersKey) by the very scripts
// that change a device: registration, revocation, presence (record-presence.ts) and the
// installed release a status report records (state/rollouts/scripts.ts: recordReports). A read
// is 16 small hashes summed, whatever the fleet's size: no pass over the devices per scrape.
// Counters can only disagree with the records if something wrote records around those scripts
// (records written before counters existed, a hand edit); checkFleetCounters finds a shard whose
// total or revoked count disagrees with its indexes (O(1) a shard) and recount-fleet-counters.ts
// repairs it.
import type { RedisClient as Redis } from '../redis.js';
import { DEVICE_SHARDS } from './device-shard.js';
import { fleetCountersKey, indexKey } from './keys.js';

/**
 * Lua for a script that changes counted device fields. The script defines COUNTERS (the shard's
 * counters) and RECOUNT (its recount in progress) from its KEYS before this text, calls
 * `bump(id, field, n)` per change and `flushCounts()` before it returns: the changes are summed
 * per field and written with one HINCRBY each. A change goes to the recount too when that has
 * already counted device `id` (ids up to its cursor), so a recount running beside it ends exact.
 * A field that reaches 0 is removed: releases come and go, the hash stays small.
 */
export const COUNTER_LUA = `
-- Byte order, as ZRANGEBYLEX: Lua's < on strings follows the server's collation locale.
local function lexLE(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local recountCursor = redis.call('HGET', RECOUNT, '.cursor')
local counted, recounted = {}, {}
local function bump(id, field, n)
  counted[field] = (counted[field] or 0) + n
  if recountCursor and lexLE(id, recountCursor) then recounted[field] = (recounted[field] or 0) + n end
end
local function flushCounts()
  for key, deltas in pairs({ [COUNTERS] = counted, [RECOUNT] = recounted }) do
    for field, n in pairs(deltas) do
      if n ~= 0 and redis.call('HINCRBY', key, field, n) == 0 then redis.call('HDEL', key, field) end
    end
  end
end
`;

/** The fleet's counts, summed over the shards. `classes` keys are `vendorId/classId`, `releases` keys '' for none reported. */
export interface FleetCounts {
  total: number;
  revoked: number;
  online: number;
  offline: number;
  /** Registered devices that never reported presence: total - online - offline. */
  unknown: number;
  classes: Record<string, number>;
  releases: Record<string, number>;
}

/** Sums counter hashes (HGETALL replies) into FleetCounts. */
export function sumFleetCounters(hashes: ReadonlyArray<Record<string, string>>): FleetCounts {
  const out: FleetCounts = { total: 0, revoked: 0, online: 0, offline: 0, unknown: 0, classes: {}, releases: {} };
  for (const hash of hashes) {
    for (const [field, value] of Object.entries(hash)) {
      const n = Number(value);
      if (!Number.isFinite(n)) continue;
      if (field === 'total' || field === 'revoked' || field === 'online' || field === 'offline') out[field] += n;
      else if (field.startsWith('class:')) out.classes[field.slice(6)] = (out.classes[field.slice(6)] ?? 0) + n;
      else if (field.startsWith('release:')) out.releases[field.slice(8)] = (out.releases[field.slice(8)] ?? 0) + n;
    }
  }
  out.unknown = out.total - out.online - out.offline;
  for (const map of [out.classes, out.releases]) for (const [key, n] of Object.entries(map)) if (n === 0) delete map[key];
  return out;
}

/** The shards' counter hashes, in shard order (one pipeline of 16 reads). */
export async function readFleetCounterHashes(redis: Redis, prefix: string): Promise<Array<Record<string, string>>> {
  const pipeline = redis.pipeline();
  for (const shard of DEVICE_SHARDS) pipeline.hgetall(fleetCountersKey(prefix, shard));
  return ((await pipeline.exec()) ?? []).map(([error, value]) => {
    if (error) throw error;
    return (value ?? {}) as Record<string, string>;
  });
}

/** The fleet's counts from the counters (16 hash reads). */
export async function readFleetCounts(redis: Redis, prefix: string): Promise<FleetCounts> {
  return sumFleetCounters(await readFleetCounterHashes(redis, prefix));
}

/**
 * The shards whose counters disagree with their indexes: `total` against the shard's device
 * index, `revoked` against its revoked index. Each shard is read in one MULTI (one slot), so a
 * registration or revocation cannot fall between the two reads: a disagreement is real. Cheap
 * (two ZCARD and one HMGET a shard); it cannot see a presence or release count gone wrong, which
 * only a recount (recount-fleet-counters.ts) checks.
 */
export async function checkFleetCounters(redis: Redis, prefix: string): Promise<number[]> {
  const replies = await Promise.all(DEVICE_SHARDS.map((shard) => redis
    .multi()
    .zcard(indexKey(prefix, shard, { kind: 'all' }))
    .zcard(indexKey(prefix, shard, { kind: 'revoked' }))
    .hmget(fleetCountersKey(prefix, shard), 'total', 'revoked')
    .exec()));
  return DEVICE_SHARDS.filter((shard, i) => {
    const reply = replies[i];
    if (!reply) return true;
    for (const [error] of reply) if (error) throw error;
    const total = reply[0]![1] as number;
    const revoked = reply[1]![1] as number;
    const [countedTotal, countedRevoked] = reply[2]![1] as Array<string | null>;
    return Number(countedTotal ?? 0) !== total || Number(countedRevoked ?? 0) !== revoked;
  });
}
