// One read of the rollouts for a scrape: statuses of all (newest first, bounded) and full views
// of the rollouts that get per-rollout series (active, or finished recently). Read from Redis, so every orchestrator process reports the same numbers.
import { ROLLOUT_STATUSES, type RolloutStatus, type RolloutView } from '../rollouts/model.js';
import { rolloutIndexKeys } from '../rollouts/redis-keys.js';
import type { RolloutStore } from '../rollouts/store.js';
import type { MetricsLimits } from './limits.js';

export interface RolloutSnapshot {
  byStatus: Record<RolloutStatus, number>;
  /** Rollouts given per-rollout series: created / running / paused, or finished recently. */
  tracked: RolloutView[];
}

const ACTIVE: ReadonlySet<string> = new Set<RolloutStatus>(['created', 'running', 'paused']);

export async function readRolloutSnapshot(store: RolloutStore, limits: Pick<MetricsLimits, 'maxRollouts' | 'finishedRolloutSeconds'>, nowMs: number): Promise<RolloutSnapshot> {
  const ids = await store.redis.zrevrange(rolloutIndexKeys(store.prefix).index, 0, limits.maxRollouts - 1);
  const pipe = store.redis.pipeline();
  for (const id of ids) {
    const k = store.keys(id);
    pipe.hmget(k.rollout, 'status', 'updatedAt');
  }
  const replies = (await pipe.exec()) ?? [];
  const byStatus = Object.fromEntries(ROLLOUT_STATUSES.map((s) => [s, 0])) as Record<RolloutStatus, number>;
  const trackedIds: string[] = [];
  ids.forEach((id, i) => {
    const [statusError, head] = replies[i] ?? [];
    if (statusError) throw statusError;
    const [status, updatedAt] = (head ?? []) as Array<string | null>;
    // Removed between the index read and this one.
    if (!status || !(ROLLOUT_STATUSES as readonly string[]).includes(status)) return;
    byStatus[status as RolloutStatus]++;
    const finishedAgo = (nowMs - Date.parse(updatedAt ?? '')) / 1000;
    if (ACTIVE.has(status) || finishedAgo <= limits.finishedRolloutSeconds) trackedIds.push(id);
  });
  const tracked: RolloutView[] = [];
  for (const id of trackedIds) {
    try {
      tracked.push(await store.view(id));
    } catch {
      // Removed meanwhile: it simply has no series this scrape.
    }
  }
  return { byStatus, tracked };
}
