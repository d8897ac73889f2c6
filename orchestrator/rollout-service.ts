// The orchestrator's rollout side, built by the composition root (server.ts) over the application
// services before any route exists: the rollout engine and its store, the directive reconciler,
// the event log (built once), the broker relay, metrics and the console. `start()` begins the
// background work once the server listens; status ingestion is wired there to the engine and the
// reconciler through typed interfaces (ingestion/start-ingestion.ts: RolloutEvaluator, DirectiveRepair).
import type { FastifyPluginAsync } from 'fastify';
import type { MqttClient } from 'mqtt';
import type { SigningKey } from '../protocol/index.js';
import type { Logger } from '../runtime/logger.js';
import { StartupError } from '../runtime/errors.js';
import type { IntakeWriterOptions } from '../state/intake/index.js';
import { createRedis, type RedisClient as Redis } from '../state/redis.js';
import type { OrchestratorConfig } from './config.js';
import { dashboardRoutes } from './dashboard/routes.js';
import { BrokerRelay } from './events/broker-relay.js';
import { EventLog } from './events/event-log.js';
import { eventRoutes } from './events/sse-routes.js';
import type { Services } from './http/services.js';
import type { Readiness } from './infra/readiness.js';
import type { IngestOptions } from './ingestion/consumer.js';
import { startIngestion, type RunningIngestion } from './ingestion/start-ingestion.js';
import { readPrivateKeyFile } from './keys/key-file.js';
import type { HttpObserver } from './metrics/event-metrics.js';
import { createOrchestratorMetrics, type OrchestratorMetrics } from './metrics/index.js';
import { connectService, type ServiceCredentials } from './mqtt/service-client.js';
import { DirectiveSigner } from './rollouts/directive-signer.js';
import { RolloutEngine, type EngineOptions } from './rollouts/engine.js';
import { DirectiveReconciler, type ReconcileOptions } from './rollouts/reconciler.js';
import { rolloutRoutes } from './rollouts/routes.js';
import { RolloutStore } from './rollouts/store.js';

export interface RolloutServiceOptions {
  /** The director key; read from `config.directorKeyPath` when absent. */
  directorKey?: SigningKey;
  engine?: Partial<EngineOptions>;
  /** The engine's clock, epoch seconds (tests inject theirs: schedules, windows, timeouts). */
  now?: () => number;
  ingest?: Partial<IngestOptions>;
  /** Overrides of the reconciler's options (the config's FLEET_RECONCILE_* otherwise). */
  reconcile?: Partial<ReconcileOptions>;
  /** Batching and retry of the bridge's durable writes (FLEET_INTAKE_MODE=bridge; state/intake/intake-writer.ts). */
  intake?: Partial<IntakeWriterOptions>;
  /** Serve the dashboard at /dashboard/ (default true). */
  dashboard?: boolean;
}

export interface RolloutServiceDeps {
  /** The process's effective config: its publicUrl is fixed by the root once the port is bound. */
  config: OrchestratorConfig;
  logger: Logger;
  redis: Redis;
  readiness: Readiness;
  services: Services;
}

export interface RolloutService {
  store: RolloutStore;
  /** The engine's event log: lifecycle events are logged once, here (event-log.ts). */
  events: EventLog;
  engine: RolloutEngine;
  reconciler: DirectiveReconciler;
  /** The engine's MQTT connection (directives). */
  mqtt: MqttClient;
  metrics: OrchestratorMetrics;
  /** For the app: plugins under /v1 (rollouts, events), at the root (/metrics, console), and request metrics. */
  routes: FastifyPluginAsync[];
  topLevelRoutes: FastifyPluginAsync[];
  httpObserver: HttpObserver;
  /** Starts the background work: metrics port, relay, engine workers, reconciliation, ingestion. */
  start(): Promise<void>;
  /** Status ingestion, once started. */
  readonly ingestion: RunningIngestion | undefined;
  /** GET /metrics without a token, once started, when FLEET_METRICS_PORT is set. */
  readonly metricsUrl: string | undefined;
  /** Ingestion first, then the engine's workers, the MQTT connection and the observers. */
  stop(): Promise<void>;
}

/**
 * Builds the rollout side (connecting the engine's MQTT account, nothing started). Refuses
 * (StartupError `orchestrator_setup`) without a broker or a director key, or with a director key
 * the current root does not list: devices would reject every directive.
 */
export async function buildRolloutService(deps: RolloutServiceDeps, options: RolloutServiceOptions = {}): Promise<RolloutService> {
  const { config, logger, redis, readiness, services } = deps;
  const prefix = config.keyPrefix;
  if (!config.brokerUrl) throw new StartupError('orchestrator_setup', 'FLEET_BROKER_URL is not set: the orchestrator publishes directives through the broker');
  let directorKey = options.directorKey;
  if (!directorKey) {
    if (!config.directorKeyPath) throw new StartupError('orchestrator_setup', 'FLEET_DIRECTOR_KEY is not set: the path of the director private key file (fleet-ota keys init creates one)');
    directorKey = await readPrivateKeyFile(config.directorKeyPath, 'director');
  }
  const signer = new DirectiveSigner(directorKey);
  const current = await services.roots.current();
  if (current && !current.signed.roles.director.keyids.includes(signer.keyid)) {
    throw new StartupError('orchestrator_setup', `the director key ${signer.keyid.slice(0, 12)}… is not a director key of root v${current.signed.version}; devices would reject every directive`);
  }
  const broker: ServiceCredentials = { url: config.brokerUrl, ...(config.brokerUsername ? { username: config.brokerUsername } : {}), ...(config.brokerSecret ? { secret: config.brokerSecret } : {}) };

  // Events (SSE), /metrics and the broker relay read Redis on a connection of their own.
  const observer = createRedis(config.redisUrl, {}, { name: 'orchestrator', logger });
  const metrics = createOrchestratorMetrics({ redis: observer, prefix });
  let publisher: MqttClient;
  try {
    publisher = await connectService(broker, 'engine');
  } catch (error) {
    await metrics.close();
    observer.disconnect();
    throw error;
  }
  metrics.observeMqtt(publisher);
  const store = new RolloutStore(redis, prefix);
  const events = new EventLog(redis, prefix, logger);
  const relay = new BrokerRelay(observer, prefix, events, logger);
  const engine = new RolloutEngine({
    redis,
    prefix,
    store,
    events,
    releases: services.releases,
    roots: services.roots,
    targets: services.registry,
    signer,
    mqtt: publisher,
    logger,
    ...(options.engine ? { options: options.engine } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  const reconciler = new DirectiveReconciler({
    store,
    engine,
    mqtt: publisher,
    logger,
    options: { sweepIntervalMs: config.reconcileIntervalMs, republishPerSecond: config.reconcilePerSecond, ...options.reconcile },
  });

  let ingestion: RunningIngestion | undefined;
  let metricsServer: { port: number; close(): Promise<void> } | undefined;
  let stopping: Promise<void> | undefined;
  const metricsHost = config.metricsHost.includes(':') ? `[${config.metricsHost}]` : config.metricsHost;
  return {
    store,
    events,
    engine,
    reconciler,
    mqtt: publisher,
    metrics,
    routes: [rolloutRoutes(engine, store, events), eventRoutes({ redis: observer, prefix })],
    // /metrics: on a port of its own when FLEET_METRICS_PORT is set, else on the API port behind a read token.
    topLevelRoutes: [...(config.metricsPort === undefined ? [metrics.plugin] : []), ...(options.dashboard === false ? [] : [dashboardRoutes()])],
    httpObserver: metrics.http,
    get ingestion() {
      return ingestion;
    },
    get metricsUrl() {
      return metricsServer ? `http://${metricsHost}:${metricsServer.port}/metrics` : undefined;
    },
    async start() {
      if (config.metricsPort !== undefined) {
        metricsServer = await metrics.listen(config.metricsHost, config.metricsPort);
        logger.info({ url: `http://${metricsHost}:${metricsServer.port}/metrics` }, 'metrics listening');
      }
      await relay.start();
      engine.startWorkers();
      reconciler.start();
      // This process may be starting after the broker lost its memory (a site-wide restart).
      reconciler.requestSweep('startup');
      // Every reconnect of the publisher is a clean session (sessionPresent false): the broker
      // may have restarted and lost the retained directives, so they are published again.
      publisher.on('connect', () => reconciler.requestSweep('broker reconnect'));
      metrics.observeReadiness(readiness);
      ingestion = await startIngestion({
        redis,
        prefix,
        events,
        logger,
        mode: config.intakeMode,
        shards: config.intakeShards,
        broker,
        readiness,
        ...(options.ingest ? { options: options.ingest } : {}),
        ...(options.intake ? { writer: options.intake } : {}),
        evaluator: engine,
        reconciler,
        observe: {
          mqtt: (client) => metrics.observeMqtt(client),
          intake: (writer) => metrics.observeIntake(writer),
          reportApplied: (report, wave) => metrics.reportApplied(report, wave),
          reportRead: (payload) => metrics.statusRead(payload),
        },
      });
    },
    stop() {
      stopping ??= (async () => {
        // Ingestion first (a bridge's written reports get their PUBACK, the batch in flight is
        // applied, the shards go back to the other members), then the engine's workers.
        await ingestion?.stop();
        await reconciler.stop();
        await engine.close();
        await publisher.endAsync().catch(() => undefined);
        await relay.stop();
        await metricsServer?.close();
        await metrics.close();
        observer.disconnect();
      })();
      return stopping;
    },
  };
}
