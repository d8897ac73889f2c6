// Recounts one device shard's fleet counters from its device records and puts the result in
// place of the counters (fleet-counters.ts), exact even while devices keep changing: the recount
// walks the shard's device index in id order, one chunk per Lua call, into a hash of its own
// whose `.cursor` says how far it got; every script that changes a counted field also applies
// its change to that hash for a device already passed (COUNTER_LUA's bump), and a device
// registered behind the cursor is counted the same way. When the walk reaches the end of the
// index, one call renames the recount over the counters. Short calls: Redis serves everything
// else between the chunks.
import type { RedisClient as Redis } from '../redis.js';
import { randomBytes } from 'node:crypto';
import { luaScript, runLua } from '../lua.js';
import { deviceKey } from './device-keys.js';
import { fleetCountersKey, fleetRecountKey, indexKey } from './keys.js';

/** Devices read per recount call. */
export const RECOUNT_CHUNK = 1_000;

// KEYS: shard's device index, recount hash, then the chunk's records. ARGV: owner token, cursor
// ('' before the first chunk), then the chunk's ids in index order. The first chunk starts the
// recount afresh (and takes it from another one in progress). Returns 1 counted, 0 the index
// changed under the chunk (read it again), -1 another recount took over.
const COUNT_CHUNK = luaScript('recount-fleet-chunk', `
local INDEX, RECOUNT = KEYS[1], KEYS[2]
local owner, cursor = ARGV[1], ARGV[2]
if cursor == '' then
  redis.call('DEL', RECOUNT)
  redis.call('HSET', RECOUNT, '.cursor', '', '.owner', owner)
elseif redis.call('HGET', RECOUNT, '.owner') ~= owner or redis.call('HGET', RECOUNT, '.cursor') ~= cursor then
  return -1
end
local n = #ARGV - 2
if n == 0 then return 1 end
local ids = redis.call('ZRANGEBYLEX', INDEX, cursor == '' and '-' or ('(' .. cursor), '+', 'LIMIT', 0, n)
for i = 1, n do
  if ids[i] ~= ARGV[i + 2] then return 0 end
end
local function incr(field, by) redis.call('HINCRBY', RECOUNT, field, by) end
for i = 1, n do
  local f = redis.call('HMGET', KEYS[i + 2], 'vendorId', 'classId', 'revoked', 'installedReleaseId', 'presence')
  if f[1] then
    incr('total', 1)
    if f[3] == '1' then incr('revoked', 1) end
    incr('class:' .. f[1] .. '/' .. (f[2] or ''), 1)
    incr('release:' .. (f[4] or ''), 1)
    if f[5] == 'online' or f[5] == 'offline' then incr(f[5], 1) end
  end
end
redis.call('HSET', RECOUNT, '.cursor', ARGV[n + 2])
return 1
`);

// KEYS: shard's device index, recount hash, counters. ARGV: owner token, cursor. Returns 1 done
// (the recount is now the counters), 2 the index has ids past the cursor (count them first),
// -1 another recount took over.
const FINISH = luaScript('recount-fleet-finish', `
local INDEX, RECOUNT, COUNTERS = KEYS[1], KEYS[2], KEYS[3]
if redis.call('HGET', RECOUNT, '.owner') ~= ARGV[1] or redis.call('HGET', RECOUNT, '.cursor') ~= ARGV[2] then return -1 end
if #redis.call('ZRANGEBYLEX', INDEX, ARGV[2] == '' and '-' or ('(' .. ARGV[2]), '+', 'LIMIT', 0, 1) > 0 then return 2 end
redis.call('HDEL', RECOUNT, '.cursor', '.owner')
if redis.call('EXISTS', RECOUNT) == 1 then
  redis.call('RENAME', RECOUNT, COUNTERS)
else
  redis.call('DEL', COUNTERS)
end
return 1
`);

export type RecountOutcome = 'recounted' | 'taken_over';

/**
 * Recounts `shard` and replaces its counters. `taken_over`: another recount of the shard started
 * meanwhile and finishes the job. Rounds where the index changed under a chunk are read again.
 */
export async function recountFleetShard(redis: Redis, prefix: string, shard: number, chunk = RECOUNT_CHUNK): Promise<RecountOutcome> {
  const owner = randomBytes(8).toString('hex');
  const index = indexKey(prefix, shard, { kind: 'all' });
  const recount = fleetRecountKey(prefix, shard);
  let cursor = '';
  let started = false;
  for (;;) {
    const ids = await redis.zrangebylex(index, cursor === '' ? '-' : `(${cursor}`, '+', 'LIMIT', 0, chunk);
    if (ids.length > 0 || !started) {
      const counted = Number(await runLua(redis, COUNT_CHUNK, [index, recount, ...ids.map((id) => deviceKey(prefix, id))], [owner, cursor, ...ids]));
      if (counted === -1) return 'taken_over';
      // 0: a device was registered inside the chunk between the read and the script: read again.
      if (counted === 0) continue;
      started = true;
      if (ids.length > 0) cursor = ids[ids.length - 1]!;
      if (ids.length === chunk) continue;
    }
    const finished = Number(await runLua(redis, FINISH, [index, recount, fleetCountersKey(prefix, shard)], [owner, cursor]));
    if (finished === -1) return 'taken_over';
    if (finished === 1) return 'recounted';
  }
}
