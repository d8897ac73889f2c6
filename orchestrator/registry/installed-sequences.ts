// The release sequence each device last reported installed (status ingestion writes it), read
// in chunks for a rollout's pre-flight check. Read-only; undefined where nothing was reported.
import type { Redis } from 'ioredis';
import { registryKeys } from '../../state/device-record.js';
import { REGISTRY_LIMITS } from './limits.js';

export async function installedSequences(redis: Redis, prefix: string, deviceIds: readonly string[]): Promise<Array<number | undefined>> {
  const keys = registryKeys(prefix);
  const out: Array<number | undefined> = [];
  for (let i = 0; i < deviceIds.length; i += REGISTRY_LIMITS.scanChunk) {
    const pipeline = redis.pipeline();
    for (const id of deviceIds.slice(i, i + REGISTRY_LIMITS.scanChunk)) pipeline.hget(keys.device(id), 'installedSequence');
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      const n = value === null ? Number.NaN : Number(value);
      out.push(Number.isSafeInteger(n) ? n : undefined);
    }
  }
  return out;
}
