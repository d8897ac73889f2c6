// Fleet summary for dashboards: devices by class, installed release, presence and revocation.
// A pass over the index reads what status ingestion wrote, whoever wrote it: a Lua script
// aggregates one chunk of ids inside Redis per call (short calls, nothing shipped per device);
// the pass is shared by concurrent callers and reused for a few seconds.
import type { Redis } from 'ioredis';
import { registryKeys } from '../../state/device-record.js';
import { REGISTRY_LIMITS } from './limits.js';
import { luaScript, runLua } from './lua.js';

export interface FleetSummary {
  total: number;
  revoked: number;
  byClass: Array<{ vendorId: string; classId: string; count: number }>;
  /** `releaseId` null: no installed release reported yet. */
  byInstalledRelease: Array<{ releaseId: string | null; count: number }>;
  byPresence: { online: number; offline: number; unknown: number };
  computedAt: string;
}

// KEYS: device index. ARGV: lex start, count, device key prefix. Returns JSON counts of the chunk.
const SUMMARY_CHUNK = luaScript('summary-chunk', `
local ids = redis.call('ZRANGEBYLEX', KEYS[1], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
local r = { n = #ids, last = ids[#ids] or '', total = 0, revoked = 0, online = 0, offline = 0, unknown = 0, classes = {}, releases = {} }
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', ARGV[3] .. id, 'vendorId', 'classId', 'revoked', 'installedReleaseId', 'presence')
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

interface Chunk {
  n: number;
  last: string;
  total: number;
  revoked: number;
  online: number;
  offline: number;
  unknown: number;
  classes: Record<string, number>;
  releases: Record<string, number>;
}

export async function computeFleetSummary(redis: Redis, prefix: string, now: Date): Promise<FleetSummary> {
  const keys = registryKeys(prefix);
  const classes = new Map<string, number>();
  const releases = new Map<string, number>();
  const presence = { online: 0, offline: 0, unknown: 0 };
  let total = 0;
  let revoked = 0;
  let from = '-';
  for (;;) {
    const chunk = JSON.parse(String(await runLua(redis, SUMMARY_CHUNK, [keys.deviceIndex], [from, REGISTRY_LIMITS.scanChunk, keys.device('')]))) as Chunk;
    total += chunk.total;
    revoked += chunk.revoked;
    presence.online += chunk.online;
    presence.offline += chunk.offline;
    presence.unknown += chunk.unknown;
    // cjson encodes an empty table as {}: both maps are objects.
    for (const [cls, count] of Object.entries(chunk.classes)) classes.set(cls, (classes.get(cls) ?? 0) + count);
    for (const [release, count] of Object.entries(chunk.releases)) releases.set(release, (releases.get(release) ?? 0) + count);
    if (chunk.n < REGISTRY_LIMITS.scanChunk) break;
    from = `(${chunk.last}`;
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
      .sort((a, b) => b.count - a.count),
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
