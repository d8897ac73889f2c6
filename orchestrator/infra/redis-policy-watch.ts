// Re-checks Redis' maxmemory-policy while the process runs: the start check (redis.ts:
// assertNoEviction) cannot see an operator's later CONFIG SET. While the policy is not
// noeviction, readiness carries `redis_eviction_policy` (GET /v1/readyz answers 503) and one
// warning is logged; both clear when it is noeviction again. It never changes the setting.
// The same check reads INFO memory: at maxmemory Redis refuses every write (ours, BullMQ's and
// the broker's persistence, which then stops delivering reports to the intake at all), so
// readiness carries `redis_full` until used memory is below maxmemory again (on a Redis
// Cluster: the policy and memory of every master).
import type { RedisClient as Redis } from '../../state/redis.js';
import { EpisodeLog } from '../../runtime/episode-log.js';
import type { Logger } from '../../runtime/logger.js';
import type { Readiness } from './readiness.js';
import { evictionPolicyMessage, infoOfMasters, readEvictionPolicy } from '../../state/redis.js';

export const DEFAULT_POLICY_CHECK_MS = 10_000;

export interface PolicyWatch {
  /** Runs one check now (the timer runs them every intervalMs). */
  check(): Promise<void>;
  stop(): void;
}

/** used_memory and maxmemory from INFO memory (maxmemory 0: no limit). */
export function parseMemoryInfo(info: string): { used: number; max: number } | undefined {
  const field = (name: string) => new RegExp(`^${name}:(\\d+)\\r?$`, 'm').exec(info)?.[1];
  const used = field('used_memory');
  const max = field('maxmemory');
  return used === undefined || max === undefined ? undefined : { used: Number(used), max: Number(max) };
}

export function watchEvictionPolicy(redis: Redis, readiness: Readiness, logger: Logger, intervalMs = DEFAULT_POLICY_CHECK_MS): PolicyWatch {
  const episode = new EpisodeLog(logger, 'Redis eviction policy check');
  const full = new EpisodeLog(logger, 'Redis memory check');
  let running: Promise<void> | undefined;
  const check = () => {
    running ??= (async () => {
      try {
        const policy = await readEvictionPolicy(redis);
        if (policy !== undefined && policy !== 'noeviction') {
          readiness.set('redis_eviction_policy', `Redis maxmemory-policy is "${policy}", not noeviction`);
          episode.failed(new Error(evictionPolicyMessage(policy)), { policy });
        } else {
          readiness.set('redis_eviction_policy', undefined);
          episode.recovered({ policy });
        }
        // On a Cluster each master fills on its own, and one full shard refuses its slots' writes.
        const memories = (await infoOfMasters(redis, 'memory')).map(parseMemoryInfo);
        const memory = memories.find((m) => m !== undefined && m.max > 0 && m.used >= m.max) ?? memories[0];
        if (memory && memory.max > 0 && memory.used >= memory.max) {
          readiness.set('redis_full', 'Redis is at maxmemory: it refuses writes');
          full.failed(new Error('Redis is at maxmemory: it refuses writes until memory is freed or maxmemory raised'), memory);
        } else {
          readiness.set('redis_full', undefined);
          full.recovered(memory ?? {});
        }
      } catch {
        // Redis unreachable: readyz's own PING reports that; keep the last verdict.
      } finally {
        running = undefined;
      }
    })();
    return running;
  };
  const timer = setInterval(() => void check(), intervalMs);
  timer.unref();
  return {
    check,
    stop: () => {
      clearInterval(timer);
      episode.close();
      full.close();
    },
  };
}
