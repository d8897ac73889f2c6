// The release sequence each device last reported installed (status ingestion writes it), read
// in chunks for a rollout's pre-flight check. Read-only; undefined where nothing was reported.
import type { RedisClient as Redis } from '../../state/redis.js';
import { readDeviceField } from '../../state/registry/index.js';
import { REGISTRY_LIMITS } from './limits.js';

export async function installedSequences(redis: Redis, prefix: string, deviceIds: readonly string[]): Promise<Array<number | undefined>> {
  const out: Array<number | undefined> = [];
  for (let i = 0; i < deviceIds.length; i += REGISTRY_LIMITS.scanChunk) {
    for (const value of await readDeviceField(redis, prefix, deviceIds.slice(i, i + REGISTRY_LIMITS.scanChunk), 'installedSequence')) {
      const n = value === null ? Number.NaN : Number(value);
      out.push(Number.isSafeInteger(n) ? n : undefined);
    }
  }
  return out;
}
