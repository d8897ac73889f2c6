// Resolves a rollout target to the sorted ids of the devices it names (docs/design.md#rollouts:
// "by id list, group, tag, class, current version, device query"). Every given criterion narrows the set;
// a list (ids, groups, tags) matches any of its entries. Revoked devices are left out.
import type { RedisClient as Redis } from '../../state/redis.js';
import { deviceClasses, indexMembers, readDeviceField, readDevices, registeredAmong, type DeviceIndex } from '../../state/registry/index.js';
import { REGISTRY_LIMITS } from './limits.js';
import { matchesQuery, queryIndex } from './query/match-query.js';
import { parseQuery } from './query/parse-query.js';

export interface TargetSelector {
  deviceIds?: string[];
  groups?: string[];
  tags?: string[];
  vendorId?: string;
  classId?: string;
  /** Devices whose status ingestion last recorded this installed release. */
  installedReleaseId?: string;
  /** A device query (query/parse-query.ts, docs/design.md#device-queries) every target must match. */
  query?: string;
  /** Include revoked devices (never for directives: the broker refuses them anyway). */
  includeRevoked?: boolean;
}

function intersect(current: Set<string> | undefined, next: Set<string>): Set<string> {
  if (!current) return next;
  return new Set([...current].filter((id) => next.has(id)));
}

/** The class indexes matching a vendorId and/or classId (either may be absent). */
async function classIndexes(redis: Redis, prefix: string, vendorId?: string, classId?: string): Promise<DeviceIndex[]> {
  if (vendorId !== undefined && classId !== undefined) return [{ kind: 'class', vendorId, classId }];
  return (await deviceClasses(redis, prefix))
    .filter((c) => (vendorId === undefined || c.vendorId === vendorId) && (classId === undefined || c.classId === classId))
    .map((c) => ({ kind: 'class', ...c }));
}

export async function resolveTarget(redis: Redis, prefix: string, selector: TargetSelector): Promise<string[]> {
  let ids: Set<string> | undefined;
  const query = selector.query !== undefined ? parseQuery(selector.query) : undefined;
  const narrowing = query && queryIndex(query);
  if (narrowing) ids = await indexMembers(redis, prefix, [narrowing]);
  if (selector.groups) ids = intersect(ids, await indexMembers(redis, prefix, selector.groups.map((name) => ({ kind: 'group', name }))));
  if (selector.tags) ids = intersect(ids, await indexMembers(redis, prefix, selector.tags.map((name) => ({ kind: 'tag', name }))));
  if (selector.vendorId !== undefined || selector.classId !== undefined) {
    ids = intersect(ids, await indexMembers(redis, prefix, await classIndexes(redis, prefix, selector.vendorId, selector.classId)));
  }
  if (selector.deviceIds) {
    // Only registered devices.
    const wanted = [...new Set(selector.deviceIds)].filter((id) => !ids || ids.has(id));
    const known = new Set<string>();
    for (let i = 0; i < wanted.length; i += REGISTRY_LIMITS.scanChunk) {
      for (const id of await registeredAmong(redis, prefix, wanted.slice(i, i + REGISTRY_LIMITS.scanChunk))) known.add(id);
    }
    ids = known;
  }
  if (!ids) ids = await indexMembers(redis, prefix, [{ kind: 'all' }]);
  if (!selector.includeRevoked && ids.size > 0) {
    for (const id of await indexMembers(redis, prefix, [{ kind: 'revoked' }])) ids.delete(id);
  }
  let result = [...ids];
  if (selector.installedReleaseId !== undefined && result.length > 0) {
    const installed: string[] = [];
    for (let i = 0; i < result.length; i += REGISTRY_LIMITS.scanChunk) {
      const chunk = result.slice(i, i + REGISTRY_LIMITS.scanChunk);
      const values = await readDeviceField(redis, prefix, chunk, 'installedReleaseId');
      chunk.forEach((id, j) => {
        if (values[j] === selector.installedReleaseId) installed.push(id);
      });
    }
    result = installed;
  }
  if (query && result.length > 0) {
    // The query reads whole records (attributes, reported values): one chunk at a time.
    const matched: string[] = [];
    for (let i = 0; i < result.length; i += REGISTRY_LIMITS.scanChunk) {
      const chunk = result.slice(i, i + REGISTRY_LIMITS.scanChunk);
      const records = await readDevices(redis, prefix, chunk);
      chunk.forEach((id, j) => {
        const record = records[j];
        if (record && matchesQuery(query, record)) matched.push(id);
      });
    }
    result = matched;
  }
  // Code-unit order: the same order ZRANGEBYLEX gives for these ASCII ids.
  return result.sort();
}
