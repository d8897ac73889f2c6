// Records devices' presence (`online` / `offline`, docs/protocol.md#mqtt-topics) on their records
// and in the shard's fleet counters, in one Lua call per device shard. Status ingestion calls it
// with the presence messages the broker wrote to the intake; nothing else writes presence. An
// id that is not registered is skipped (no half record is created for it).
import type { RedisClient as Redis } from '../redis.js';
import { luaScript, runLua } from '../lua.js';
import { deviceKey } from './device-keys.js';
import { deviceShard } from './device-shard.js';
import { COUNTER_LUA } from './fleet-counters.js';
import { fleetCountersKey, fleetRecountKey } from './keys.js';

export interface PresenceChange {
  deviceId: string;
  presence: 'online' | 'offline';
  /** Wire time the broker received the message. */
  at: string;
}

// KEYS: fleet counters, their recount, then one record per change. ARGV per change: id,
// presence, at. Changes apply in order. Returns how many records were changed.
const RECORD_PRESENCE = luaScript('record-presence', `
local COUNTERS, RECOUNT = KEYS[1], KEYS[2]
${COUNTER_LUA}
local changed = 0
for i = 3, #KEYS do
  local b = (i - 3) * 3
  local id, presence, at = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local was = redis.call('HMGET', KEYS[i], 'publicKey', 'presence')
  if was[1] then
    redis.call('HSET', KEYS[i], 'presence', presence, 'presenceAt', at)
    if was[2] ~= presence then
      if was[2] == 'online' or was[2] == 'offline' then bump(id, was[2], -1) end
      bump(id, presence, 1)
    end
    changed = changed + 1
  end
end
flushCounts()
return changed
`);

/** Applies `changes` in order (per device); returns how many named a registered device. */
export async function recordPresence(redis: Redis, prefix: string, changes: readonly PresenceChange[]): Promise<number> {
  const byShard = new Map<number, PresenceChange[]>();
  for (const change of changes) {
    const shard = deviceShard(change.deviceId);
    const list = byShard.get(shard);
    if (list) list.push(change);
    else byShard.set(shard, [change]);
  }
  const counts = await Promise.all([...byShard].map(async ([shard, list]) => {
    const keys = [fleetCountersKey(prefix, shard), fleetRecountKey(prefix, shard), ...list.map((c) => deviceKey(prefix, c.deviceId))];
    return Number(await runLua(redis, RECORD_PRESENCE, keys, list.flatMap((c) => [c.deviceId, c.presence, c.at])));
  }));
  return counts.reduce((sum, n) => sum + n, 0);
}
