// A device's transitions across rollouts: one capped Redis list per device, newest first,
// written by the Lua scripts that apply each transition (scripts.ts: directly for a report,
// through the rollout's outbox for an engine transition). This module holds the cap and reads
// the list; the key is named in keys.ts.
import type { RedisClient as Redis } from '../redis.js';
import { deviceRolloutKeys } from './keys.js';

/** Entries kept per device (LTRIM after each LPUSH): the most recent transitions. */
export const DEVICE_HISTORY_MAX_ENTRIES = 200;

export interface DeviceHistoryEntry {
  /** Redis' clock when the transition was applied. */
  at: string;
  rolloutId: string;
  /** The state before; absent for the first state in a rollout. */
  from?: string;
  state: string;
  reason?: string;
  /** What moved it: a device report, the engine (notify, timeout, cancel, supersede) or a reissue. */
  source: 'report' | 'engine';
  /** From a report: its seq, directive counter, progress and the installed release it named. */
  detail?: { seq?: number; counter?: number; progress?: number; reportedAt?: string; installedReleaseId?: string; installedSequence?: number };
}

export function deviceHistoryKey(prefix: string, deviceId: string): string {
  return deviceRolloutKeys(prefix, deviceId).history;
}

/** Newest first, at most `limit` entries. */
export async function readDeviceHistory(redis: Redis, prefix: string, deviceId: string, limit = DEVICE_HISTORY_MAX_ENTRIES): Promise<DeviceHistoryEntry[]> {
  const rows = await redis.lrange(deviceHistoryKey(prefix, deviceId), 0, Math.max(0, Math.min(limit, DEVICE_HISTORY_MAX_ENTRIES) - 1));
  const entries = rows.flatMap((row) => {
    try {
      // Lua writes Redis' time in milliseconds (it has no date formatting); the API speaks ISO.
      // `m` marks an entry copied from a rollout's outbox (scripts.ts): internal, not served.
      const { ms, m: _mark, ...rest } = JSON.parse(row) as Omit<DeviceHistoryEntry, 'at'> & { ms: number; m?: string };
      return [{ at: new Date(ms).toISOString(), ...rest }];
    } catch {
      return [];
    }
  });
  // Engine transitions reach the list through their rollout's outbox (scripts.ts), reports
  // directly: order by when each transition was applied, newest first (a stable sort).
  return entries.sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
}
