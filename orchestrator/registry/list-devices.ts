// Device listing with filters and cursor paging: walks the narrowest index in lexicographic
// order (state/registry pageIndex: the device shards merged) from the cursor and filters the
// records it reads. The cursor is the last id examined, so pages stay stable while devices are added.
import type { RedisClient as Redis } from '../../state/redis.js';
import type { DeviceRecord } from '../../state/device-record.js';
import { pageIndex, readDevices, type DeviceIndex } from '../../state/registry/index.js';
import { REGISTRY_LIMITS } from './limits.js';
import { matchesQuery, queryIndex } from './query/match-query.js';
import type { QueryNode } from './query/parse-query.js';

export interface DeviceFilter {
  group?: string;
  tag?: string;
  vendorId?: string;
  classId?: string;
  revoked?: boolean;
  installedReleaseId?: string;
  /** Ids starting with this (the search box): narrows the index range, not only the filter. */
  idPrefix?: string;
  /** Last reported presence; 'unknown' = never reported. */
  presence?: 'online' | 'offline' | 'unknown';
  /** State of the device's last status report (`lastStatus.state`). */
  lastState?: string;
  /** A parsed device query (query/parse-query.ts): every other criterion and this one must hold. */
  query?: QueryNode;
}

export interface DevicePage {
  devices: DeviceRecord[];
  /** Pass back as `cursor` for the next page; null when the listing is complete. */
  nextCursor: string | null;
}

function matches(record: DeviceRecord, filter: DeviceFilter): boolean {
  if (filter.group !== undefined && !record.groups.includes(filter.group)) return false;
  if (filter.tag !== undefined && !record.tags.includes(filter.tag)) return false;
  if (filter.vendorId !== undefined && record.vendorId !== filter.vendorId) return false;
  if (filter.classId !== undefined && record.classId !== filter.classId) return false;
  if (filter.revoked !== undefined && record.revoked !== filter.revoked) return false;
  if (filter.installedReleaseId !== undefined && record.installedReleaseId !== filter.installedReleaseId) return false;
  if (filter.idPrefix !== undefined && !record.id.startsWith(filter.idPrefix)) return false;
  if (filter.presence !== undefined && (record.presence ?? 'unknown') !== filter.presence) return false;
  if (filter.lastState !== undefined && record.lastStatus?.state !== filter.lastState) return false;
  if (filter.query !== undefined && !matchesQuery(filter.query, record)) return false;
  return true;
}

/** The index that holds every match and as few others as possible. */
function drivingIndex(filter: DeviceFilter): DeviceIndex {
  if (filter.group !== undefined) return { kind: 'group', name: filter.group };
  if (filter.tag !== undefined) return { kind: 'tag', name: filter.tag };
  if (filter.vendorId !== undefined && filter.classId !== undefined) return { kind: 'class', vendorId: filter.vendorId, classId: filter.classId };
  if (filter.revoked === true) return { kind: 'revoked' };
  return (filter.query && queryIndex(filter.query)) ?? { kind: 'all' };
}

export async function listDevices(redis: Redis, prefix: string, filter: DeviceFilter, page: { cursor?: string; limit?: number }): Promise<DevicePage> {
  const limit = Math.min(Math.max(1, page.limit ?? REGISTRY_LIMITS.defaultPageSize), REGISTRY_LIMITS.maxPageSize);
  const index = drivingIndex(filter);
  const devices: DeviceRecord[] = [];
  // Device ids never hold '~' (DEVICE_ID), which sorts after every character they may hold.
  const lower = filter.idPrefix !== undefined ? `[${filter.idPrefix}` : '-';
  const upper = filter.idPrefix !== undefined ? `(${filter.idPrefix}~` : '+';
  let from = page.cursor && (lower === '-' || page.cursor >= filter.idPrefix!) ? `(${page.cursor}` : lower;
  let scanned = 0;
  let last: string | undefined;
  while (devices.length < limit && scanned < REGISTRY_LIMITS.maxScannedPerPage) {
    const want = Math.min(Math.max(limit - devices.length, 64), REGISTRY_LIMITS.maxScannedPerPage - scanned);
    const ids = await pageIndex(redis, prefix, index, from, upper, want);
    if (ids.length === 0) return { devices, nextCursor: null };
    const records = await readDevices(redis, prefix, ids);
    for (let i = 0; i < ids.length; i++) {
      scanned++;
      last = ids[i]!;
      const record = records[i];
      if (record && matches(record, filter)) {
        devices.push(record);
        if (devices.length === limit) break;
      }
    }
    if (ids.length < want && last === ids[ids.length - 1]) {
      // The index ran out inside this chunk: nothing follows.
      return { devices, nextCursor: null };
    }
    from = `(${last}`;
  }
  return { devices, nextCursor: last ?? null };
}
