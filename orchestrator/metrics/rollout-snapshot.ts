// One read of the rollouts for a scrape: statuses of all (newest first, bounded) and full views
// of the rollouts that get per-rollout series (active, or finished recently). Read from Redis, so every orchestrator process reports the same numbers.
import { ROLLOUT_STATUSES, type RolloutStatus, type RolloutView } from '../rollouts/model.js';
import type { RolloutStore } from '../rollouts/store.js';
import type { MetricsLimits } from './limits.js';

export interface RolloutSnapshot {
  byStatus: Record<RolloutStatus, number>;
  /** Rollouts given per-rollout series: created / running / paused, or finished recently. */
  tracked: RolloutView[];
}

const ACTIVE: ReadonlySet<string> = new Set<RolloutStatus>(['created', 'scheduled', 'running', 'paused']);

export async function readRolloutSnapshot(store: RolloutStore, limits: Pick<MetricsLimits, 'maxRollouts' | 'finishedRolloutSeconds'>, nowMs: number): Promise<RolloutSnapshot> {
  const heads = await store.state.recentHeads(limits.maxRollouts);
  const byStatus = Object.fromEntries(ROLLOUT_STATUSES.map((s) => [s, 0])) as Record<RolloutStatus, number>;
  const trackedIds: string[] = [];
  for (const { id, status, updatedAt } of heads) {
    if (!(ROLLOUT_STATUSES as readonly string[]).includes(status)) continue;
    byStatus[status as RolloutStatus]++;
    const finishedAgo = (nowMs - Date.parse(updatedAt)) / 1000;
    if (ACTIVE.has(status) || finishedAgo <= limits.finishedRolloutSeconds) trackedIds.push(id);
  }
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
