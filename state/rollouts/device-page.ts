// One page of a rollout's devices (GET /v1/rollouts/:id/devices) that holds to `limit`: HSCAN
// answers a small hash whole whatever COUNT says, so the cursor also records how far into the
// scan batch the page stopped (`<scan cursor>.<offset>`). Read-only.
import type { RedisClient as Redis } from '../redis.js';
import { parseEntry, type DeviceRolloutEntry } from './entry.js';
import { rolloutKeys } from './keys.js';

export const DEVICE_PAGE_LIMITS = {
  /** HSCAN COUNT hint; constant, so resuming a cursor rescans the same batch. */
  scanCount: 200,
  /** Scan rounds per request before a sparse filter answers a partial page and a cursor. */
  maxRounds: 50,
} as const;

export const DEVICE_PAGE_CURSOR = /^[0-9]{1,20}(\.[0-9]{1,9})?$/;

export interface DevicePageQuery {
  limit: number;
  cursor?: string;
  state?: string;
  /** 0-based wave index (the API's numbering). */
  wave?: number;
}

export async function pageRolloutDevices(redis: Redis, prefix: string, rolloutId: string, query: DevicePageQuery, limits = DEVICE_PAGE_LIMITS): Promise<{ devices: Array<{ id: string } & DeviceRolloutEntry>; cursor?: string }> {
  const key = rolloutKeys(prefix, rolloutId).devices;
  const [startScan = '0', startSkip = '0'] = (query.cursor ?? '0').split('.');
  let scan = startScan;
  let skip = Number(startSkip);
  const devices: Array<{ id: string } & DeviceRolloutEntry> = [];
  for (let round = 0; round < limits.maxRounds; round++) {
    const [next, flat] = await redis.hscan(key, scan, 'COUNT', limits.scanCount);
    for (let i = skip * 2; i < flat.length; i += 2) {
      if (devices.length === query.limit) return { devices, cursor: `${scan}.${i / 2}` };
      const entry = parseEntry(flat[i + 1]);
      if (!entry) continue;
      if (query.state && entry.state !== query.state) continue;
      if (query.wave !== undefined && entry.wave !== query.wave) continue;
      devices.push({ id: flat[i]!, ...entry });
    }
    scan = next;
    skip = 0;
    if (scan === '0') return { devices };
  }
  return { devices, cursor: `${scan}.0` };
}
