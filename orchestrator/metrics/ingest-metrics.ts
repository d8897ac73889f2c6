// Status ingestion metrics, read from Redis at scrape time so every orchestrator process reports
// the same numbers: outcome counters (written by ingestion/consumer.ts) and the backlog of the
// intake stream (its oldest entry gives the lag).
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RedisClient as Redis } from '../../state/redis.js';
import { ingestStatsKey } from '../ingestion/consumer.js';
import { ingestStreamKey } from '../ingestion/intake.js';

/** Outcome field names are ours (consumer.ts); anything else in the hash is not exported. */
const OUTCOME = /^[a-z_]{1,32}$/;

function streamIdMs(id: string | undefined): number | undefined {
  const ms = Number(id?.split('-')[0]);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}

export function registerIngestMetrics(registry: Registry, redis: Redis, prefix: string, now: () => number = Date.now): void {
  new Counter({
    name: 'fleet_ingest_outcomes_total',
    help: 'Status and presence messages processed by ingestion, by outcome (applied, stale, bad_signature, ...).',
    labelNames: ['outcome'] as const,
    registers: [registry],
    async collect() {
      const all = await redis.hgetall(ingestStatsKey(prefix));
      this.reset();
      for (const [outcome, n] of Object.entries(all)) if (OUTCOME.test(outcome)) this.inc({ outcome }, Number(n) || 0);
    },
  });
  new Gauge({
    name: 'fleet_ingest_backlog_messages',
    help: 'Messages in the intake stream not yet processed and deleted by ingestion.',
    registers: [registry],
    async collect() {
      this.set(await redis.xlen(ingestStreamKey(prefix)));
    },
  });
  new Gauge({
    name: 'fleet_ingest_lag_seconds',
    help: 'Age of the oldest message still waiting in the intake stream (0 when it is empty).',
    registers: [registry],
    async collect() {
      // Entries are deleted once applied, so the first one held is the oldest not yet applied.
      const [first] = await redis.xrange(ingestStreamKey(prefix), '-', '+', 'COUNT', 1);
      const ms = streamIdMs(first?.[0]);
      this.set(ms === undefined ? 0 : Math.max(0, (now() - ms) / 1000));
    },
  });
}
