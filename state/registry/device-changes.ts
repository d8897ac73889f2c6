// The registry's change log for dynamic rollouts (docs/design.md#dynamic-rollouts): every
// script that changes what a target can match (registration, groups / tags / attributes, a
// report's attributes or installed release) stamps the device in its shard's `changed` set in
// the same atomic step, on Redis' clock. A reader asks which devices changed since a time; a
// device appears once (its latest change), so a shard's set never outgrows its devices.
import type { RedisClient as Redis } from '../redis.js';
import { DEVICE_SHARDS } from './device-shard.js';
import { changedKey } from './keys.js';

/** Entries older than this are dropped by the writers: a reader further behind rescans the target. */
export const DEVICE_CHANGE_HORIZON_MS = 24 * 60 * 60 * 1000;

/**
 * Lua for the writers: `markChanged(key, id)` stamps `id` now; `trimChanged(key)` drops entries
 * past the horizon (once per script call).
 */
export const MARK_CHANGED_LUA = `
local function changeNowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function markChanged(key, id)
  redis.call('ZADD', key, changeNowMs(), id)
end
local function trimChanged(key)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. (changeNowMs() - ${DEVICE_CHANGE_HORIZON_MS}))
end
`;

/** Redis' clock in ms (the clock the change stamps use). */
export async function redisNowMs(redis: Redis): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

export interface ChangedDevices {
  ids: string[];
  /** Every change stamped before this (ms) has been read; undefined: every change so far. */
  readThrough?: number;
}

/**
 * Devices changed at or after `fromMs`, at most `limitPerShard` per shard (oldest first). When a
 * shard had more, `readThrough` says how far the answer is complete: ask again from there.
 */
export async function devicesChangedSince(redis: Redis, prefix: string, fromMs: number, limitPerShard: number): Promise<ChangedDevices> {
  const pipeline = redis.pipeline();
  for (const shard of DEVICE_SHARDS) pipeline.zrangebyscore(changedKey(prefix, shard), fromMs, '+inf', 'WITHSCORES', 'LIMIT', 0, limitPerShard);
  const ids: string[] = [];
  let readThrough: number | undefined;
  for (const [error, reply] of (await pipeline.exec()) ?? []) {
    if (error) throw error;
    const rows = reply as string[];
    for (let i = 0; i < rows.length; i += 2) ids.push(rows[i]!);
    if (rows.length / 2 === limitPerShard) {
      const last = Number(rows[rows.length - 1]);
      readThrough = readThrough === undefined ? last : Math.min(readThrough, last);
    }
  }
  return readThrough === undefined ? { ids } : { ids, readThrough };
}
