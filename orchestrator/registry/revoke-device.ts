// Revokes a device: marks the record revoked and publishes its id on the revocation channel in
// the same Lua call, so a broker drops its cached key and connection (device-record.ts).
import type { Redis } from 'ioredis';
import { registryKeys } from '../../state/device-record.js';
import { luaScript, runLua } from './lua.js';

// KEYS: device hash, revoked index. ARGV: id, channel, revokedAt. Returns 0 unknown, 1 revoked,
// 2 already revoked (published again: a broker that missed the first message catches up).
const REVOKE = luaScript('revoke-device', `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local was = redis.call('HGET', KEYS[1], 'revoked')
if was ~= '1' then
  redis.call('HSET', KEYS[1], 'revoked', '1', 'revokedAt', ARGV[3])
  redis.call('ZADD', KEYS[2], 0, ARGV[1])
end
redis.call('PUBLISH', ARGV[2], ARGV[1])
if was == '1' then return 2 end
return 1
`);

export type RevokeOutcome = 'revoked' | 'already_revoked' | 'not_found';

export async function revokeDevice(redis: Redis, prefix: string, deviceId: string, now: Date): Promise<RevokeOutcome> {
  const keys = registryKeys(prefix);
  const reply = await runLua(redis, REVOKE, [keys.device(deviceId), keys.revokedIndex], [deviceId, keys.revokedChannel, now.toISOString()]);
  return reply === 0 ? 'not_found' : reply === 2 ? 'already_revoked' : 'revoked';
}
