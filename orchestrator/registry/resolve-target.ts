// Resolves a rollout target to the sorted ids of the devices it names (docs/design.md#rollouts:
// "by id list, group, tag, class, current version"). Every given criterion narrows the set;
// a list (ids, groups, tags) matches any of its entries. Revoked devices are left out.
import type { Redis } from 'ioredis';
import { registryKeys } from '../../state/device-record.js';
import { REGISTRY_LIMITS } from './limits.js';

export interface TargetSelector {
  deviceIds?: string[];
  groups?: string[];
  tags?: string[];
  vendorId?: string;
  classId?: string;
  /** Devices whose status ingestion last recorded this installed release. */
  installedReleaseId?: string;
  /** Include revoked devices (never for directives: the broker refuses them anyway). */
  includeRevoked?: boolean;
}

async function membersOf(redis: Redis, keys: string[]): Promise<Set<string>> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.zrange(key, '0', '-1');
  const replies = (await pipeline.exec()) ?? [];
  const out = new Set<string>();
  for (const [error, ids] of replies) {
    if (error) throw error;
    for (const id of ids as string[]) out.add(id);
  }
  return out;
}

function intersect(current: Set<string> | undefined, next: Set<string>): Set<string> {
  if (!current) return next;
  return new Set([...current].filter((id) => next.has(id)));
}

/** The class indexes matching a vendorId and/or classId (either may be absent). */
async function classIndexes(redis: Redis, prefix: string, vendorId?: string, classId?: string): Promise<string[]> {
  const keys = registryKeys(prefix);
  if (vendorId !== undefined && classId !== undefined) return [keys.deviceClass(vendorId, classId)];
  const classes = await redis.smembers(keys.classes);
  return classes
    .map((member) => member.split('/') as [string, string])
    .filter(([v, c]) => (vendorId === undefined || v === vendorId) && (classId === undefined || c === classId))
    .map(([v, c]) => keys.deviceClass(v, c));
}

export async function resolveTarget(redis: Redis, prefix: string, selector: TargetSelector): Promise<string[]> {
  const keys = registryKeys(prefix);
  let ids: Set<string> | undefined;
  if (selector.groups) ids = intersect(ids, await membersOf(redis, selector.groups.map((g) => keys.group(g))));
  if (selector.tags) ids = intersect(ids, await membersOf(redis, selector.tags.map((t) => keys.tag(t))));
  if (selector.vendorId !== undefined || selector.classId !== undefined) {
    ids = intersect(ids, await membersOf(redis, await classIndexes(redis, prefix, selector.vendorId, selector.classId)));
  }
  if (selector.deviceIds) {
    // Only registered devices: ZMSCORE answers null for ids the index does not hold.
    const wanted = [...new Set(selector.deviceIds)].filter((id) => !ids || ids.has(id));
    const known = new Set<string>();
    for (let i = 0; i < wanted.length; i += REGISTRY_LIMITS.scanChunk) {
      const chunk = wanted.slice(i, i + REGISTRY_LIMITS.scanChunk);
      const scores = (await redis.call('ZMSCORE', keys.deviceIndex, ...chunk)) as Array<string | null>;
      chunk.forEach((id, j) => {
        if (scores[j] !== null) known.add(id);
      });
    }
    ids = known;
  }
  if (!ids) ids = await membersOf(redis, [keys.deviceIndex]);
  if (!selector.includeRevoked && ids.size > 0) {
    for (const id of await redis.zrange(keys.revokedIndex, '0', '-1')) ids.delete(id);
  }
  let result = [...ids];
  if (selector.installedReleaseId !== undefined && result.length > 0) {
    const installed: string[] = [];
    for (let i = 0; i < result.length; i += REGISTRY_LIMITS.scanChunk) {
      const chunk = result.slice(i, i + REGISTRY_LIMITS.scanChunk);
      const pipeline = redis.pipeline();
      for (const id of chunk) pipeline.hget(keys.device(id), 'installedReleaseId');
      const replies = (await pipeline.exec()) ?? [];
      chunk.forEach((id, j) => {
        if (replies[j]?.[1] === selector.installedReleaseId) installed.push(id);
      });
    }
    result = installed;
  }
  // Code-unit order: the same order ZRANGEBYLEX gives for these ASCII ids.
  return result.sort();
}
