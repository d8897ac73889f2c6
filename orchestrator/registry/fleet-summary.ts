// Fleet summary for dashboards: devices by class, installed release, presence and revocation.
// A pass over every device shard reads what status ingestion wrote, whoever wrote it: a Lua
// script aggregates one chunk of ids inside Redis per call (state/registry summarizeDeviceChunk:
// short calls, nothing shipped per device); the pass is shared by concurrent callers and reused
// for a few seconds.
import type { RedisClient as Redis } from '../../state/redis.js';
import { DEVICE_SHARDS, summarizeDeviceChunk } from '../../state/registry/index.js';
import { REGISTRY_LIMITS } from './limits.js';

export interface FleetSummary {
  total: number;
  revoked: number;
  byClass: Array<{ vendorId: string; classId: string; count: number }>;
  /** `releaseId` null: no installed release reported yet. */
  byInstalledRelease: Array<{ releaseId: string | null; count: number }>;
  byPresence: { online: number; offline: number; unknown: number };
  computedAt: string;
}

export async function computeFleetSummary(redis: Redis, prefix: string, now: Date): Promise<FleetSummary> {
  const classes = new Map<string, number>();
  const releases = new Map<string, number>();
  const presence = { online: 0, offline: 0, unknown: 0 };
  let total = 0;
  let revoked = 0;
  for (const shard of DEVICE_SHARDS) {
    let after = '';
    for (;;) {
      const chunk = await summarizeDeviceChunk(redis, prefix, shard, after, REGISTRY_LIMITS.scanChunk);
      total += chunk.total;
      revoked += chunk.revoked;
      presence.online += chunk.online;
      presence.offline += chunk.offline;
      presence.unknown += chunk.unknown;
      // cjson encodes an empty table as {}: both maps are objects.
      for (const [cls, count] of Object.entries(chunk.classes)) classes.set(cls, (classes.get(cls) ?? 0) + count);
      for (const [release, count] of Object.entries(chunk.releases)) releases.set(release, (releases.get(release) ?? 0) + count);
      if (chunk.n < REGISTRY_LIMITS.scanChunk) break;
      after = chunk.last;
    }
  }
  return {
    total,
    revoked,
    byClass: [...classes]
      .map(([cls, count]) => {
        const [vendorId = '', classId = ''] = cls.split('/');
        return { vendorId, classId, count };
      })
      .sort((a, b) => b.count - a.count || `${a.vendorId}/${a.classId}`.localeCompare(`${b.vendorId}/${b.classId}`)),
    byInstalledRelease: [...releases]
      .map(([releaseId, count]) => ({ releaseId: releaseId === '' ? null : releaseId, count }))
      .sort((a, b) => b.count - a.count || (a.releaseId ?? '').localeCompare(b.releaseId ?? '')),
    byPresence: presence,
    computedAt: now.toISOString(),
  };
}

/**
 * Single-flight summary cache, stale-while-revalidate: only the first call waits for a pass;
 * later calls get the last result at once (at most a pass older than `ttlMs`) while one
 * refresh runs in the background. A dashboard polling every second costs one pass per period.
 */
export function createSummaryCache(compute: () => Promise<FleetSummary>, options: { ttlMs?: number; now?: () => number } = {}) {
  const ttlMs = options.ttlMs ?? REGISTRY_LIMITS.summaryCacheMs;
  const now = options.now ?? Date.now;
  const maxStaleMs = 10 * ttlMs;
  let cached: { value: FleetSummary; until: number } | undefined;
  let running: Promise<FleetSummary> | undefined;
  const refresh = (): Promise<FleetSummary> => {
    running ??= compute()
      .then((value) => {
        cached = { value, until: now() + ttlMs };
        return value;
      })
      .finally(() => {
        running = undefined;
      });
    return running;
  };
  return {
    get(): Promise<FleetSummary> {
      // Too old (refreshes keep failing): wait, so that the failure surfaces.
      if (!cached || cached.until + maxStaleMs <= now()) return refresh();
      if (cached.until <= now()) refresh().catch(() => {});
      return Promise.resolve(cached.value);
    },
    /** Forces the next call to wait for a fresh pass. */
    invalidate(): void {
      cached = undefined;
    },
  };
}
