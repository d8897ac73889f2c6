// Directive reconciliation metrics, read from Redis at scrape time like the ingest counters:
// directives published again byte-identical, and fresh ones issued for (nearly) expired ones
// (written by rollouts/reconciler.ts).
import { Counter, type Registry } from 'prom-client';
import type { RedisClient as Redis } from '../../state/redis.js';
import { RECONCILE_KINDS, ReconcileState } from '../../state/rollouts/reconcile-state.js';

export function registerReconcileMetrics(registry: Registry, redis: Redis, prefix: string): void {
  const state = new ReconcileState(redis, prefix);
  new Counter({
    name: 'fleet_directives_reconciled_total',
    help: 'Directives the orchestrator published again to unsettled devices: republished (byte-identical) or reissued (fresh counter and expiry).',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      const values = await state.read();
      this.reset();
      for (const kind of RECONCILE_KINDS) this.inc({ kind }, values[kind] || 0);
    },
  });
}
