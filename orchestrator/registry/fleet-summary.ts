// Fleet summary for dashboards and /metrics: devices by class, installed release, presence and
// revocation, read from the fleet counters the device-changing scripts keep per shard
// (state/registry/fleet-counters.ts): 16 small hashes, whatever the fleet's size. A shard whose
// counters disagree with its indexes (records written before the counters existed, or around
// the scripts) is recounted from its records once, then read again; concurrent callers share
// that recount.
import type { RedisClient as Redis } from '../../state/redis.js';
import { DEVICE_SHARDS, checkFleetCounters, readFleetCounts, recountFleetShard } from '../../state/registry/index.js';
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

/** Recounts every shard (O(fleet), in short calls): the repair for counters that drifted in ways the summary's check cannot see. */
export async function recountFleet(redis: Redis, prefix: string, shards: readonly number[]): Promise<void> {
  for (const shard of shards) await recountFleetShard(redis, prefix, shard);
}

export async function computeFleetSummary(redis: Redis, prefix: string, now: Date): Promise<FleetSummary> {
  const c = await readFleetCounts(redis, prefix);
  return {
    total: c.total,
    revoked: c.revoked,
    byClass: Object.entries(c.classes)
      .map(([cls, count]) => {
        const [vendorId = '', classId = ''] = cls.split('/');
        return { vendorId, classId, count };
      })
      .sort((a, b) => b.count - a.count || `${a.vendorId}/${a.classId}`.localeCompare(`${b.vendorId}/${b.classId}`)),
    byInstalledRelease: Object.entries(c.releases)
      .map(([releaseId, count]) => ({ releaseId: releaseId === '' ? null : releaseId, count }))
      .sort((a, b) => b.count - a.count || (a.releaseId ?? '').localeCompare(b.releaseId ?? '')),
    byPresence: { online: c.online, offline: c.offline, unknown: c.unknown },
    computedAt: now.toISOString(),
  };
}

/**
 * The summary source of one process: each call reads the counters; the first call (and any after
 * a failed check) first checks them against the indexes and recounts the shards that disagree.
 * The check is cheap (two ZCARD and one HMGET a shard); it runs again every `checkEveryMs`.
 */
export function createFleetSummary(redis: Redis, prefix: string, options: { now?: () => Date; checkEveryMs?: number } = {}) {
  const now = options.now ?? (() => new Date());
  const checkEveryMs = options.checkEveryMs ?? REGISTRY_LIMITS.fleetCounterCheckMs;
  let checkedAt = -Infinity;
  let checking: Promise<void> | undefined;
  const check = (): Promise<void> => {
    checking ??= (async () => {
      try {
        await recountFleet(redis, prefix, await checkFleetCounters(redis, prefix));
        checkedAt = Date.now();
      } finally {
        checking = undefined;
      }
    })();
    return checking;
  };
  return {
    async get(): Promise<FleetSummary> {
      if (Date.now() - checkedAt >= checkEveryMs) await check();
      return computeFleetSummary(redis, prefix, now());
    },
    /** Recounts every shard now (the repair for any drift). */
    async recount(): Promise<void> {
      await recountFleet(redis, prefix, DEVICE_SHARDS);
      checkedAt = Date.now();
    },
  };
}
