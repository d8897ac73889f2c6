// Counters of this process's intake writer (state/intake/intake-writer.ts) and its readiness
// conditions, read at scrape time. Per process, like the MQTT counters: sum them across
// orchestrators. The readiness gauge says why /v1/readyz answers 503.
import { Counter, Gauge, type Registry } from 'prom-client';
import { READINESS_CHECKS, type Readiness } from '../infra/readiness.js';
import type { IntakeWriterStats } from '../../state/intake/index.js';

/** What the metrics read from the intake writer. */
export interface IntakeSource {
  readonly stats: IntakeWriterStats;
  readonly pending: number;
  readonly failing: boolean;
}

const FAILURE_KINDS = ['oom', 'unreachable', 'error'] as const;

export interface IntakeMetrics {
  observeIntake(writer: IntakeSource): void;
  observeReadiness(readiness: Readiness): void;
}

export function registerIntakeMetrics(registry: Registry): IntakeMetrics {
  const writers: IntakeSource[] = [];
  const readinesses: Readiness[] = [];
  const sum = (read: (w: IntakeSource) => number) => writers.reduce((n, w) => n + read(w), 0);
  new Counter({
    name: 'fleet_intake_written_total',
    help: 'Status and presence messages this process wrote durably to the intake stream (each acknowledged to the broker only after).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sum((w) => w.stats.written));
    },
  });
  new Counter({
    name: 'fleet_intake_batches_total',
    help: 'Intake batches (one MULTI/EXEC each) this process wrote.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sum((w) => w.stats.batches));
    },
  });
  new Counter({
    name: 'fleet_intake_write_failures_total',
    help: 'Intake batch writes that Redis refused or did not answer, by kind (oom: maxmemory reached; unreachable; error); each is retried.',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of FAILURE_KINDS) this.inc({ kind }, sum((w) => w.stats.failures[kind] ?? 0));
    },
  });
  new Counter({
    name: 'fleet_intake_outages_total',
    help: 'Episodes during which intake writes to Redis failed or stalled.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(sum((w) => w.stats.outages));
    },
  });
  new Gauge({
    name: 'fleet_intake_pending_messages',
    help: 'Messages received by the intake and not yet durable (so not yet acknowledged to the broker).',
    registers: [registry],
    collect() {
      this.set(sum((w) => w.pending));
    },
  });
  new Gauge({
    name: 'fleet_intake_write_failing',
    help: '1 while the intake cannot write to Redis (it holds reports unacknowledged and retries).',
    registers: [registry],
    collect() {
      this.set(writers.some((w) => w.failing) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'fleet_not_ready',
    help: '1 for each readiness condition that makes /v1/readyz answer 503 (intake_writes, redis_eviction_policy, redis_full).',
    labelNames: ['check'] as const,
    registers: [registry],
    collect() {
      for (const check of READINESS_CHECKS) this.set({ check }, readinesses.some((r) => r.raised(check)) ? 1 : 0);
    },
  });
  return {
    observeIntake: (writer) => void writers.push(writer),
    observeReadiness: (readiness) => void readinesses.push(readiness),
  };
}
