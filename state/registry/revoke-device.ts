// Revokes a device: marks the record revoked, indexes it in its shard's revoked set and
// publishes its id on the revocation channel in the same Lua call, so every device-key cache
// (device-key-cache.ts: brokers, ingestion, the HTTP registry) drops the key at once.
import type { RedisClient as Redis } from '../redis.js';
import { luaScript, runLua } from '../lua.js';
import { COUNTER_LUA } from './fleet-counters.js';
import { deviceKey } from './device-keys.js';
import { deviceShard } from './device-shard.js';
import { fleetCountersKey, fleetRecountKey, indexKey, revokedChannel } from './keys.js';

// KEYS: device hash, its shard's revoked index, fleet counters and their recount. ARGV: id,
// channel, revokedAt. Returns 0 unknown, 1 revoked, 2 already revoked (published again: a cache that missed the first message catches up).
// PUBLISH names a channel, not a key: allowed in a cluster script (it reaches every node).
const REVOKE = luaScript('revoke-device', `
local COUNTERS, RECOUNT = KEYS[3], KEYS[4]
${COUNTER_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local was = redis.call('HGET', KEYS[1], 'revoked')
if was ~= '1' then
  redis.call('HSET', KEYS[1], 'revoked', '1', 'revokedAt', ARGV[3])
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
  bump(ARGV[1], 'revoked', 1)
  flushCounts()
end
redis.call('PUBLISH', ARGV[2], ARGV[1])
if was == '1' then return 2 end
return 1
`);

export type RevokeOutcome = 'revoked' | 'already_revoked' | 'not_found';

export async function revokeDevice(redis: Redis, prefix: string, deviceId: string, now: Date): Promise<RevokeOutcome> {
  const shard = deviceShard(deviceId);
  const keys = [deviceKey(prefix, deviceId), indexKey(prefix, shard, { kind: 'revoked' }), fleetCountersKey(prefix, shard), fleetRecountKey(prefix, shard)];
  const reply = await runLua(redis, REVOKE, keys, [deviceId, revokedChannel(prefix), now.toISOString()]);
  return reply === 0 ? 'not_found' : reply === 2 ? 'already_revoked' : 'revoked';
}
