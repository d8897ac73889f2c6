// The whole orchestrator process: the HTTP service (server.ts) plus the rollout engine, the
// status intake and ingestion, wired to one Redis and one broker service account.
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { RedisClient as Redis } from '../state/redis.js';
import type { MqttClient } from 'mqtt';
import type { SigningKey } from '../protocol/index.js';
import type { OrchestratorConfig } from './config.js';
import { EventLog } from './events/event-log.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import type { IngestOptions, StatusConsumer } from './ingestion/consumer.js';
import { startIngestion, type RunningIngestion } from './ingestion/start-ingestion.js';
import type { IntakeWriterOptions } from '../state/intake/index.js';
import { readPrivateKeyFile } from './keys/key-file.js';
import { connectService } from './mqtt/service-client.js';
import { DirectiveSigner } from './rollouts/directive-signer.js';
import { RolloutEngine, type EngineOptions } from './rollouts/engine.js';
import { DirectiveReconciler, type ReconcileOptions } from './rollouts/reconciler.js';
import { rolloutRoutes } from './rollouts/routes.js';
import { RolloutStore } from './rollouts/store.js';
import { startOrchestrator } from './server.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { BrokerRelay } from './events/broker-relay.js';
import { eventRoutes } from './events/sse-routes.js';
import { createRedis } from '../state/redis.js';
import { createOrchestratorMetrics } from './metrics/index.js';
import { StartupError } from '../runtime/errors.js';

export interface FleetOrchestratorOptions {
  config: OrchestratorConfig;
  /** The director key; read from `config.directorKeyPath` when absent. */
  directorKey?: SigningKey;
  logger?: Logger;
  engine?: Partial<EngineOptions>;
  /** The engine's clock, epoch seconds (tests inject theirs: schedules, windows, timeouts). */
  now?: () => number;
  ingest?: Partial<IngestOptions>;
  /** Overrides of the reconciler's options (the config's FLEET_RECONCILE_* otherwise). */
  reconcile?: Partial<ReconcileOptions>;
  /** Batching and retry of the bridge's durable writes (FLEET_INTAKE_MODE=bridge; state/intake/intake-writer.ts). */
  intake?: Partial<IntakeWriterOptions>;
  /** Extra /v1 route plugins. */
  extraRoutes?: FastifyPluginAsync[];
  /** Serve the dashboard at /dashboard/ (default true). */
  dashboard?: boolean;
}

export interface FleetOrchestratorParts {
  redis: Redis;
  prefix: string;
  store: RolloutStore;
  events: EventLog;
}

export interface FleetOrchestrator extends FleetOrchestratorParts {
  url: string;
  /** GET /metrics without a token, when FLEET_METRICS_PORT is set. */
  metricsUrl?: string;
  app: FastifyInstance;
  engine: RolloutEngine;
  consumer: StatusConsumer;
  reconciler: DirectiveReconciler;
  mqtt: MqttClient;
  close(): Promise<void>;
}

/** Delay (and rate limit) of the extra evaluation a rollout gets after its reports are applied. */
const INGEST_TICK_MS = 100;

export async function startFleetOrchestrator(options: FleetOrchestratorOptions): Promise<FleetOrchestrator> {
  const { config } = options;
  const logger = options.logger ?? createLogger('orchestrator');
  if (!config.brokerUrl) throw new StartupError('orchestrator_setup', 'FLEET_BROKER_URL is not set: the orchestrator publishes directives through the broker');
  let directorKey = options.directorKey;
  if (!directorKey) {
    if (!config.directorKeyPath) throw new StartupError('orchestrator_setup', 'FLEET_DIRECTOR_KEY is not set: the path of the director private key file (fleet-ota keys init creates one)');
    directorKey = await readPrivateKeyFile(config.directorKeyPath, 'director');
  }
  const signer = new DirectiveSigner(directorKey);
  const broker = { url: config.brokerUrl, ...(config.brokerUsername ? { username: config.brokerUsername } : {}), ...(config.brokerSecret ? { secret: config.brokerSecret } : {}) };

  // Filled once the HTTP service is up; the routes answer 503 until then.
  const holder: EngineHolder = {};
  const routes = engineRoutes(holder);

  // Events (SSE), /metrics and the broker relay read Redis on a connection of their own.
  const observer = createRedis(config.redisUrl, {}, { name: 'orchestrator', logger });
  const metrics = createOrchestratorMetrics({ redis: observer, prefix: config.keyPrefix });
  // /metrics: on a port of its own when FLEET_METRICS_PORT is set, else on the API port behind a read token.
  const topLevelRoutes = [...(config.metricsPort === undefined ? [metrics.plugin] : []), ...(options.dashboard === false ? [] : [dashboardRoutes()])];
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  let relay: BrokerRelay | undefined;

  const mqttClients: MqttClient[] = [];
  let ingestion: RunningIngestion | undefined;
  let engine: RolloutEngine | undefined;
  let reconciler: DirectiveReconciler | undefined;
  const running = await startOrchestrator(config, {
    extraRoutes: [routes, eventRoutes({ redis: observer, prefix: config.keyPrefix }), ...(options.extraRoutes ?? [])],
    topLevelRoutes,
    httpObserver: metrics.http,
    onStarted: async (ctx) => {
      if (config.metricsPort !== undefined) {
        metricsServer = await metrics.listen(config.metricsHost, config.metricsPort);
        logger.info({ url: `http://${config.metricsHost}:${metricsServer.port}/metrics` }, 'metrics listening');
      }
      const prefix = ctx.config.keyPrefix;
      const store = new RolloutStore(ctx.redis, prefix);
      // The engine's log: lifecycle events are logged here, once (event-log.ts).
      const events = new EventLog(ctx.redis, prefix, logger);
      const current = await ctx.app.services.roots.current();
      if (current && !current.signed.roles.director.keyids.includes(signer.keyid)) {
        throw new StartupError('orchestrator_setup', `the director key ${signer.keyid.slice(0, 12)}… is not a director key of root v${current.signed.version}; devices would reject every directive`);
      }
      const publisher = await connectService(broker, 'engine');
      mqttClients.push(publisher);
      metrics.observeMqtt(publisher);
      relay = new BrokerRelay(observer, prefix, events, logger);
      await relay.start();
      engine = new RolloutEngine({
        redis: ctx.redis,
        prefix,
        store,
        events,
        releases: ctx.app.services.releases,
        roots: ctx.app.services.roots,
        targets: ctx.app.services.registry,
        signer,
        mqtt: publisher,
        logger,
        ...(options.engine ? { options: options.engine } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
      engine.startWorkers();
      reconciler = new DirectiveReconciler({
        store,
        engine,
        mqtt: publisher,
        logger,
        options: { sweepIntervalMs: config.reconcileIntervalMs, republishPerSecond: config.reconcilePerSecond, ...options.reconcile },
      });
      reconciler.start();
      // This process may be starting after the broker lost its memory (a site-wide restart).
      reconciler.requestSweep('startup');
      // Every reconnect of the publisher is a clean session (sessionPresent false): the broker
      // may have restarted and lost the retained directives, so they are published again.
      const rec = reconciler;
      publisher.on('connect', () => rec.requestSweep('broker reconnect'));
      // A report applied may settle a wave: evaluate those rollouts soon rather than at the next
      // scheduled tick, but at most once per INGEST_TICK_MS each however many batches arrive.
      const soon = new Map<string, NodeJS.Timeout>();
      const tickSoon = (ids: Set<string>) => {
        for (const id of ids) {
          if (soon.has(id)) continue;
          soon.set(id, setTimeout(() => {
            soon.delete(id);
            void engine?.tick(id).catch((error: Error) => logger.warn({ rolloutId: id, err: error.message }, 'tick after ingest failed'));
          }, INGEST_TICK_MS));
        }
      };
      metrics.observeReadiness(ctx.readiness);
      ingestion = await startIngestion({
        redis: ctx.redis,
        prefix,
        events,
        logger,
        mode: config.intakeMode,
        shards: config.intakeShards,
        broker,
        readiness: ctx.readiness,
        ...(options.ingest ? { options: options.ingest } : {}),
        ...(options.intake ? { writer: options.intake } : {}),
        sinks: {
          onApplied: tickSoon,
          onReportApplied: (report, wave) => metrics.reportApplied(report, wave),
          onReportRead: (payload) => metrics.statusRead(payload),
          onOnline: (ids) => rec.devicesOnline(ids),
          onExpired: ({ deviceId, rolloutId, counter }) => rec.directiveExpired(deviceId, rolloutId, counter),
          // The broker no longer had the bridge's session: it may have lost its memory.
          onSessionLost: () => rec.requestSweep('intake session lost'),
        },
        observe: { mqtt: (client) => metrics.observeMqtt(client), intake: (writer) => metrics.observeIntake(writer) },
      });
      holder.store = store;
      holder.engine = engine;
    },
    onClose: async () => {
      // Ingestion first (a bridge's written reports get their PUBACK, the batch in flight is
      // applied, the shards go back to the other members), then the engine's workers.
      await ingestion?.stop();
      await reconciler?.stop();
      await engine?.close();
      await mqttClients[0]?.endAsync().catch(() => undefined);
      await relay?.stop();
      await metricsServer?.close();
      await metrics.close();
      observer.disconnect();
    },
  }, logger).catch(async (error: unknown) => {
    // startOrchestrator undid its own part (onClose included); this connection is ours.
    observer.disconnect();
    throw error;
  });

  return {
    url: running.url,
    ...(metricsServer ? { metricsUrl: `http://${config.metricsHost.includes(':') ? `[${config.metricsHost}]` : config.metricsHost}:${metricsServer.port}/metrics` } : {}),
    app: running.app,
    redis: running.redis,
    prefix: config.keyPrefix,
    store: holder.store!,
    events: new EventLog(running.redis, config.keyPrefix),
    engine: engine!,
    consumer: ingestion!.consumer,
    reconciler: reconciler!,
    mqtt: mqttClients[0]!,
    close: running.close,
  };
}

/** The rollout engine and its store, once started. */
export interface EngineHolder {
  engine?: RolloutEngine;
  store?: RolloutStore;
}

/** The rollout routes (under /v1) over an engine that starts after the server listens: 503 `starting` until then. */
export function engineRoutes(holder: EngineHolder): FastifyPluginAsync {
  return async (app) => {
    // preHandler, after each route's role check (onRequest): a caller without a token learns nothing.
    app.addHook('preHandler', async (request, reply) => {
      if (request.url.startsWith('/v1/rollouts') && !holder.engine) await reply.code(503).send({ code: 'starting', message: 'the rollout engine is starting' });
    });
    await app.register(rolloutRoutes(lazy(() => holder.engine!), lazy(() => holder.store!)));
  };
}

/** A proxy that resolves its target on first use (routes are registered before the engine exists). */
function lazy<T extends object>(get: () => T): T {
  return new Proxy({} as T, {
    get: (_target, property) => {
      const target = get();
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
