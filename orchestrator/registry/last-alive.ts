// When each device was last known alive, for a rollout's `exclude.offlineForSeconds`
// (rollouts/plan-rollout.ts): online now, or the latest of its presence change, its last status
// report and (never seen at all) its registration. Read-only, in chunks.
import type { RedisClient as Redis } from '../../state/redis.js';
import { readDeviceField } from '../../state/registry/index.js';
import { parseWireTime } from '../../protocol/index.js';
import { REGISTRY_LIMITS } from './limits.js';

export interface LastAlive {
  online: boolean;
  /** Epoch seconds of the latest sign of life (registration if none); undefined if nothing is recorded. */
  at?: number;
}

function seconds(text: string | null): number | undefined {
  if (!text) return undefined;
  const parsed = parseWireTime(text);
  if (parsed !== undefined) return parsed;
  const ms = Date.parse(text); // createdAt is an ISO time with milliseconds
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

export async function lastAlive(redis: Redis, prefix: string, deviceIds: readonly string[]): Promise<LastAlive[]> {
  const out: LastAlive[] = [];
  for (let i = 0; i < deviceIds.length; i += REGISTRY_LIMITS.scanChunk) {
    const chunk = deviceIds.slice(i, i + REGISTRY_LIMITS.scanChunk);
    const [presence, presenceAt, lastSeenAt, createdAt] = await Promise.all(
      (['presence', 'presenceAt', 'lastSeenAt', 'createdAt'] as const).map((field) => readDeviceField(redis, prefix, chunk, field)),
    );
    chunk.forEach((_, j) => {
      const seen = [seconds(presenceAt![j]!), seconds(lastSeenAt![j]!)].filter((n): n is number => n !== undefined);
      const at = seen.length > 0 ? Math.max(...seen) : seconds(createdAt![j]!);
      out.push({ online: presence![j] === 'online', ...(at !== undefined ? { at } : {}) });
    });
  }
  return out;
}
