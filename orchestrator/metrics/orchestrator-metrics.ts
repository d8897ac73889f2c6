// The orchestrator's Prometheus metrics: one prom-client Registry (never the global one) and a
// route plugin serving it as GET /metrics at the root. Rollout, ingestion, queue and fleet
// numbers are read from Redis at scrape time, so every orchestrator process reports the same
// values (aggregate them with max(), not sum()); the MQTT counters are per process
// (mqtt-metrics.ts says how to aggregate them).
//
// Auth: none by default (Prometheus convention; no device id or secret is exported). With
// `requireToken`, a read token is required (`authorization: Bearer`, Prometheus' bearer_token).
import type { FastifyInstance, FastifyPluginAsync, preHandlerHookHandler } from 'fastify';
import type { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { computeFleetSummary, createSummaryCache, type FleetSummary } from '../registry/fleet-summary.js';
import { RolloutStore } from '../rollouts/store.js';
import { registerFleetMetrics } from './fleet-metrics.js';
import { registerIngestMetrics } from './ingest-metrics.js';
import { DEFAULT_METRICS_LIMITS, type MetricsLimits } from './limits.js';
import { registerMqttMetrics } from './mqtt-metrics.js';
import { registerQueueMetrics } from './queue-metrics.js';
import { registerReconcileMetrics } from './reconcile-metrics.js';
import { readRolloutSnapshot, type RolloutSnapshot } from './rollout-snapshot.js';
import { registerRolloutMetrics } from './rollout-metrics.js';

export interface OrchestratorMetricsDeps {
  redis: Redis;
  prefix: string;
  /** Defaults to a store over the same Redis and prefix. */
  store?: RolloutStore;
  /** The app's cached fleet summary, if it has one; otherwise one is cached here. */
  fleetSummary?: () => Promise<FleetSummary>;
  limits?: Partial<MetricsLimits>;
  /** Require a read token on GET /metrics (the app must decorate `requireRole`). */
  requireToken?: boolean;
  /** process_* and nodejs_* metrics of this process (default true). */
  defaultMetrics?: boolean;
  now?: () => number;
}

export interface OrchestratorMetrics {
  registry: Registry;
  /** Serves GET /metrics; register it at the root, not under /v1. */
  plugin: FastifyPluginAsync;
  /** Counts directives sent and status reports received on this MQTT client; returns a function that stops. */
  observeMqtt(client: MqttClient): () => void;
  close(): Promise<void>;
}

type WithRoles = FastifyInstance & { requireRole(role: 'operator' | 'read'): preHandlerHookHandler };

/** Several collectors read the same snapshot: one Redis pass per scrape, not one per metric. */
function perScrape<T>(read: () => Promise<T>, reuseMs: number, now: () => number): () => Promise<T> {
  let cached: { value: Promise<T>; at: number } | undefined;
  return () => {
    if (!cached || now() - cached.at > reuseMs) {
      const value = read();
      cached = { value, at: now() };
      // A failed read is not reused.
      value.catch(() => {
        if (cached?.value === value) cached = undefined;
      });
    }
    return cached.value;
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`scrape took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Scrape-time snapshots are reused this long: a scrape's collectors run within it. */
const SNAPSHOT_REUSE_MS = 1_000;

export function createOrchestratorMetrics(deps: OrchestratorMetricsDeps): OrchestratorMetrics {
  const limits = { ...DEFAULT_METRICS_LIMITS, ...deps.limits };
  const now = deps.now ?? Date.now;
  const store = deps.store ?? new RolloutStore(deps.redis, deps.prefix);
  const registry = new Registry();
  if (deps.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });

  const snapshot: () => Promise<RolloutSnapshot> = perScrape(() => readRolloutSnapshot(store, limits, now()), SNAPSHOT_REUSE_MS, now);
  registerRolloutMetrics(registry, snapshot);
  registerIngestMetrics(registry, deps.redis, deps.prefix, now);
  registerReconcileMetrics(registry, deps.redis, deps.prefix);
  const queues = registerQueueMetrics(registry, deps.redis, deps.prefix);
  const fleet = deps.fleetSummary ?? createSummaryCache(() => computeFleetSummary(deps.redis, deps.prefix, new Date(now())), { ttlMs: limits.fleetSummaryTtlMs, now }).get;
  registerFleetMetrics(registry, fleet);
  const mqtt = registerMqttMetrics(registry);

  const plugin: FastifyPluginAsync = async (instance) => {
    const app = instance as WithRoles;
    app.get('/metrics', {
      ...(deps.requireToken ? { preHandler: app.requireRole('read') } : {}),
      schema: { tags: ['ops'], summary: 'Prometheus metrics (text exposition format 0.0.4)' },
    }, async (request, reply) => {
      try {
        const text = await withTimeout(registry.metrics(), limits.scrapeTimeoutMs);
        return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
      } catch (error) {
        request.log.warn({ err: (error as Error).message }, 'metrics scrape failed');
        return reply.code(503).send({ code: 'metrics_unavailable', message: 'metrics could not be collected' });
      }
    });
  };

  return {
    registry,
    plugin,
    observeMqtt: (client) => mqtt.observe(client),
    close: () => queues.close(),
  };
}
