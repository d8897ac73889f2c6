// Status ingestion metrics, read from Redis at scrape time so every orchestrator process reports
// the same numbers: outcome counters (written by ingestion/consumer.ts) and the backlog of the
// intake shards (their oldest entry gives the lag).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RedisClient as Redis } from '../../state/redis.js';
import { ingestOutcomesKey, intakeBacklog, readIntakeLayout } from '../../state/intake/index.js';

/** Outcome field names are ours (consumer.ts); anything else in the hash is not exported. */
const OUTCOME = /^[a-z_]{1,32}$/;

async function backlog(redis: Redis, prefix: string): Promise<{ messages: number; oldestMs: number | undefined }> {
  const layout = await readIntakeLayout(redis, prefix);
  return layout ? intakeBacklog(redis, layout) : { messages: 0, oldestMs: undefined };
}

export function registerIngestMetrics(registry: Registry, redis: Redis, prefix: string, now: () => number = Date.now): void {
  new Counter({
    name: 'fleet_ingest_outcomes_total',
    help: 'Status and presence messages processed by ingestion, by outcome (applied, stale, bad_signature, ...).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      const all = await redis.hgetall(ingestOutcomesKey(prefix));
      this.reset();
      for (const [outcome, n] of Object.entries(all)) if (OUTCOME.test(outcome)) this.inc({ outcome }, Number(n) || 0);
    },
  });
  new Gauge({
    name: 'fleet_ingest_backlog_messages',
    help: 'Messages in the intake shards not yet processed and deleted by ingestion.',
    registers: [registry],
    async collect() {
      this.set((await backlog(redis, prefix)).messages);
    },
  });
  new Gauge({
    name: 'fleet_ingest_lag_seconds',
    help: 'Age of the oldest message still waiting in the intake shards (0 when they are empty).',
    registers: [registry],
    async collect() {
      // Entries are deleted once applied, so each shard's first is its oldest not yet applied.
      const ms = (await backlog(redis, prefix)).oldestMs;
      this.set(ms === undefined ? 0 : Math.max(0, (now() - ms) / 1000));
    },
  });
}
