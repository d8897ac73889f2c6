// The orchestrator's Prometheus metrics: one prom-client Registry (never the global one),
// served as GET /metrics. Rollout, ingestion, queue and fleet gauges are read from Redis at
// scrape time, so every orchestrator process reports the same values (aggregate them with
// max(), not sum()); the event counters and histograms (event-metrics.ts) and the MQTT counters
// are per process (sum() them; mqtt-metrics.ts says how for reports).
//
// Where: on the API port, GET /metrics needs a read token (`authorization: Bearer`,
// Prometheus' `authorization.credentials_file`); or, with FLEET_METRICS_PORT, on a port of its
// own without a token (bind it to an interface only the scraper reaches) and not on the API port.
import type { FastifyInstance, FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import { createServer, type Server } from 'node:http';
import type { RedisClient as Redis } from '../../state/redis.js';
import type { MqttClient } from 'mqtt';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { timeLimit } from '../../runtime/time-limit.js';
import { createFleetSummary, type FleetSummary } from '../registry/fleet-summary.js';
import { RolloutStore } from '../rollouts/store.js';
import { registerEventMetrics, type EventMetrics, type EventMetricsOptions, type HttpObserver } from './event-metrics.js';
import { registerFleetMetrics } from './fleet-metrics.js';
import { registerIngestMetrics } from './ingest-metrics.js';
import { registerIntakeMetrics, type IntakeSource } from './intake-metrics.js';
import type { Readiness } from '../infra/readiness.js';
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
  events?: Partial<EventMetricsOptions>;
  /** process_* and nodejs_* metrics of this process (default true). */
  defaultMetrics?: boolean;
  now?: () => number;
}

export interface OrchestratorMetrics {
  registry: Registry;
  /** Serves GET /metrics behind a read token; register it at the root of the app, not under /v1. */
  plugin: FastifyPluginAsync;
  /** Serves GET /metrics (no token) and GET /healthz on a port of its own; resolves to the bound port. */
  listen(host: string, port: number): Promise<{ port: number; close(): Promise<void> }>;
  /** Request latency and artifact bytes (buildApp's `httpObserver`). */
  http: HttpObserver;
  /** Rejections, failures and time to success, from ingestion (StatusConsumer.onReportApplied). */
  reportApplied: EventMetrics['reportApplied'];
  /** Settles work started by reportApplied (tests). */
  idle(): Promise<void>;
  /** Counts directives sent on this MQTT client; returns a function that stops. */
  observeMqtt(client: MqttClient): () => void;
  /** Counts a status report ingestion read from the intake (StatusConsumer.onReportRead). */
  statusRead(payload: Uint8Array): void;
  /** Exports this process's intake writer counters. */
  observeIntake(writer: IntakeSource): void;
  /** Exports which readiness conditions are raised (fleet_not_ready). */
  observeReadiness(readiness: Readiness): void;
  close(): Promise<void>;
}

type WithRoles = FastifyInstance & { requireRole(role: 'operator' | 'read'): onRequestHookHandler };

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
  return timeLimit(promise, ms, () => {
    throw new Error(`scrape took longer than ${ms} ms`);
  });
}

/** Scrape-time snapshots are reused this long: a scrape's collectors run within it. */
const SNAPSHOT_REUSE_MS = 1_000;

/**
 * prom-client's default metrics include gauges named nodejs_active_{handles,requests,resources}_total,
 * which `promtool check metrics` refuses (a gauge must not end in _total). The same numbers are
 * in the per-type gauges without the suffix: sum(nodejs_active_handles).
 */
const MISNAMED_DEFAULT_GAUGES = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Bounds the request head of the metrics port, like the broker's metrics server. */
const METRICS_SERVER_TIMEOUT_MS = 10_000;

export function createOrchestratorMetrics(deps: OrchestratorMetricsDeps): OrchestratorMetrics {
  const limits = { ...DEFAULT_METRICS_LIMITS, ...deps.limits };
  const now = deps.now ?? Date.now;
  const store = deps.store ?? new RolloutStore(deps.redis, deps.prefix);
  const registry = new Registry();
  if (deps.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  }

  const snapshot: () => Promise<RolloutSnapshot> = perScrape(() => readRolloutSnapshot(store, limits, now()), SNAPSHOT_REUSE_MS, now);
  registerRolloutMetrics(registry, snapshot);
  registerIngestMetrics(registry, deps.redis, deps.prefix, now);
  registerReconcileMetrics(registry, deps.redis, deps.prefix);
  const queues = registerQueueMetrics(registry, deps.redis, deps.prefix);
  const fleet = deps.fleetSummary ?? createFleetSummary(deps.redis, deps.prefix, { now: () => new Date(now()) }).get;
  registerFleetMetrics(registry, fleet);
  const mqtt = registerMqttMetrics(registry);
  const events = registerEventMetrics(registry, deps.redis, deps.prefix, now, deps.events);

  /** The exposition, or undefined when it could not be collected in time. */
  const render = async (log: (message: string) => void): Promise<string | undefined> => {
    try {
      return await withTimeout(registry.metrics(), limits.scrapeTimeoutMs);
    } catch (error) {
      log((error as Error).message);
      return undefined;
    }
  };
  const intake = registerIntakeMetrics(registry);

  const plugin: FastifyPluginAsync = async (instance) => {
    const app = instance as WithRoles;
    app.get('/metrics', {
      onRequest: app.requireRole('read'),
      schema: {
        operationId: 'getMetrics',
        tags: ['ops'],
        summary: 'Prometheus metrics (text exposition format 0.0.4)',
        response: {
          200: { description: 'The exposition', content: { 'text/plain; version=0.0.4': { schema: { type: 'string' } } } },
          503: { description: 'Metrics could not be collected in time', content: { 'application/json': { schema: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } } },
        },
      },
    }, async (request, reply) => {
      const text = await render((err) => request.log.warn({ err }, 'metrics scrape failed'));
      if (text === undefined) return reply.code(503).send({ code: 'metrics_unavailable', message: 'metrics could not be collected' });
      return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(text);
    });
  };

  const listen = async (host: string, port: number) => {
    const server: Server = createServer((request, response) => {
      const path = (request.url ?? '/').split('?')[0];
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.writeHead(405, { allow: 'GET, HEAD' }).end();
      } else if (path === '/metrics') {
        void render(() => undefined).then((text) => {
          if (text === undefined) response.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'metrics_unavailable', message: 'metrics could not be collected' }));
          else response.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(text);
        });
      } else if (path === '/healthz') {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else {
        response.writeHead(404).end();
      }
    });
    server.headersTimeout = METRICS_SERVER_TIMEOUT_MS;
    server.requestTimeout = METRICS_SERVER_TIMEOUT_MS;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    return {
      port: typeof address === 'object' && address !== null ? address.port : port,
      close: () => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    };
  };

  return {
    registry,
    plugin,
    listen,
    http: events.http,
    reportApplied: (report, wave) => events.reportApplied(report, wave),
    idle: () => events.idle(),
    observeMqtt: (client) => mqtt.observe(client),
    statusRead: (payload) => mqtt.statusRead(payload),
    observeIntake: (writer) => intake.observeIntake(writer),
    observeReadiness: (readiness) => intake.observeReadiness(readiness),
    close: () => queues.close(),
  };
}
