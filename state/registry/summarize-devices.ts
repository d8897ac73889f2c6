// Counts for the fleet summary, one chunk of a shard's devices per call: the ids are read from
// the shard's index, then one Lua call aggregates their records inside Redis (nothing shipped
// per device) with every record named in KEYS. The orchestrator sums the chunks.
import type { RedisClient as Redis } from '../redis.js';
import { luaScript, runLua } from '../lua.js';
import { deviceKey } from './device-keys.js';
import { indexKey } from './keys.js';

/** Counts of one chunk; `classes` keys are `vendorId/classId`, `releases` keys '' for none reported. */
export interface DeviceChunkSummary {
  /** Ids read from the index (a chunk shorter than asked is the shard's last). */
  n: number;
  /** The last id read: the next chunk starts after it. */
  last: string;
  total: number;
  revoked: number;
  online: number;
  offline: number;
  unknown: number;
  classes: Record<string, number>;
  releases: Record<string, number>;
}

// KEYS: device hashes. Returns JSON counts.
const SUMMARIZE = luaScript('summarize-devices', `
local r = { total = 0, revoked = 0, online = 0, offline = 0, unknown = 0, classes = {}, releases = {} }
for _, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'vendorId', 'classId', 'revoked', 'installedReleaseId', 'presence')
  if f[1] then
    r.total = r.total + 1
    if f[3] == '1' then r.revoked = r.revoked + 1 end
    local class = f[1] .. '/' .. (f[2] or '')
    r.classes[class] = (r.classes[class] or 0) + 1
    local release = f[4] or ''
    r.releases[release] = (r.releases[release] or 0) + 1
    if f[5] == 'online' then r.online = r.online + 1
    elseif f[5] == 'offline' then r.offline = r.offline + 1
    else r.unknown = r.unknown + 1 end
  end
end
return cjson.encode(r)
`);

/** Summarizes up to `count` devices of `shard` with ids after `after` ('' for the first chunk). */
export async function summarizeDeviceChunk(redis: Redis, prefix: string, shard: number, after: string, count: number): Promise<DeviceChunkSummary> {
  const ids = await redis.zrangebylex(indexKey(prefix, shard, { kind: 'all' }), after === '' ? '-' : `(${after}`, '+', 'LIMIT', 0, count);
  const empty: DeviceChunkSummary = { n: 0, last: after, total: 0, revoked: 0, online: 0, offline: 0, unknown: 0, classes: {}, releases: {} };
  if (ids.length === 0) return empty;
  const counts = JSON.parse(String(await runLua(redis, SUMMARIZE, ids.map((id) => deviceKey(prefix, id)), []))) as Omit<DeviceChunkSummary, 'n' | 'last'>;
  // cjson encodes an empty table as {}: both maps are objects.
  return { ...counts, n: ids.length, last: ids[ids.length - 1]! };
}
