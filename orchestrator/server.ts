// The orchestrator's one composition root. Every part is built here, in dependency order, before
// anything listens: Redis (refusing an evicting one, and re-checking that while it runs),
// bootstrap tokens, the artifact store, the application services, then (with `rollouts`) the
// rollout side over those services (rollout-service.ts: engine, reconciler, events, metrics,
// console), then the HTTP app, whose routes get the real engine. Then it listens, and only then
// starts the background work (engine workers, reconciliation, status ingestion, wired to the
// engine through a typed interface); GET /v1/readyz answers 503 `starting` until that is done,
// /v1/healthz answers from the moment it listens.
// It installs no signal handlers: `fleet-ota serve` does (launcher/commands/serve.ts).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { MqttClient } from 'mqtt';
import { createLogger, type Logger } from '../runtime/logger.js';
import { assertNoEviction, createRedis, type RedisClient as Redis } from '../state/redis.js';
import { createFsArtifactStore } from './artifacts/fs-store.js';
import { withArtifactCache } from './artifacts/memory-cache.js';
import { storeBootstrapTokens } from './auth/tokens.js';
import type { OrchestratorConfig } from './config.js';
import type { EventLog } from './events/event-log.js';
import { buildApp } from './http/app.js';
import { createServices } from './http/services.js';
import { Readiness } from './infra/readiness.js';
import { watchEvictionPolicy } from './infra/redis-policy-watch.js';
import type { StatusConsumer } from './ingestion/consumer.js';
import { buildRolloutService, type RolloutService, type RolloutServiceOptions } from './rollout-service.js';
import type { RolloutEngine } from './rollouts/engine.js';
import type { DirectiveReconciler } from './rollouts/reconciler.js';
import type { RolloutStore } from './rollouts/store.js';

export interface OrchestratorOptions {
  /**
   * The rollout side: engine, reconciliation, status ingestion, events, metrics and console (needs
   * the broker and the director key). Without it, the HTTP API of the registry, releases,
   * artifacts and roots alone (what tests of those routes and of the CLI run against).
   */
  rollouts?: RolloutServiceOptions;
  /** Route plugins registered under /v1 after the core and rollout routes. */
  extraRoutes?: FastifyPluginAsync[];
}

export interface RunningOrchestrator {
  url: string;
  app: FastifyInstance;
  redis: Redis;
  /** The effective configuration (publicUrl fixed once an OS-chosen port is known). */
  config: OrchestratorConfig;
  /** Conditions that make /v1/readyz answer 503 (`starting`, the intake's, Redis'). */
  readiness: Readiness;
  /** Present when started with `rollouts`. */
  rollouts?: RolloutService;
  close(): Promise<void>;
}

/** Where the text after the HTTP server's address comes from: the address it really bound. */
function listeningUrl(app: FastifyInstance): string {
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
}

export async function startOrchestrator(config: OrchestratorConfig, options: OrchestratorOptions = {}, logger: Logger = createLogger('orchestrator')): Promise<RunningOrchestrator> {
  // A copy, the one every part reads: its public URL is fixed below once an OS-chosen port is
  // known (the artifact routes read it per request, so they name the bound port).
  const cfg: OrchestratorConfig = { ...config };
  const redis = createRedis(cfg.redisUrl, {}, { name: 'orchestrator', logger });
  const readiness = new Readiness();
  // Undone in reverse order of construction, on a failed start and on close.
  const cleanups: Array<() => Promise<unknown>> = [
    () => redis.quit().catch(() => redis.disconnect()),
  ];
  const undo = async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup().catch(() => {});
  };
  try {
    await assertNoEviction(redis);
    // An operator's CONFIG SET later is seen within redisPolicyCheckMs: not ready while it evicts.
    const policyWatch = watchEvictionPolicy(redis, readiness, logger, cfg.redisPolicyCheckMs);
    cleanups.unshift(async () => policyWatch.stop());
    // Tokens are stored hashed; the values themselves are never logged.
    await storeBootstrapTokens(redis, cfg.keyPrefix, { operator: cfg.operatorToken, read: cfg.readonlyToken });
    // Small artifacts are served from memory after their first read (a rollout reads each once per device).
    const artifactStore = withArtifactCache(createFsArtifactStore(cfg.dataDir));
    await artifactStore.init();
    const services = createServices({ redis, prefix: cfg.keyPrefix, config: cfg, artifactStore });
    cleanups.unshift(() => services.close());

    let rollouts: RolloutService | undefined;
    if (options.rollouts) {
      rollouts = await buildRolloutService({ config: cfg, logger, redis, readiness, services }, options.rollouts);
      cleanups.unshift(() => rollouts!.stop());
      readiness.set('starting', 'the rollout engine and status ingestion are starting');
    }

    const app = await buildApp({
      redis,
      prefix: cfg.keyPrefix,
      config: cfg,
      logger,
      services,
      readiness,
      extraRoutes: [...(rollouts?.routes ?? []), ...(options.extraRoutes ?? [])],
      ...(rollouts ? { topLevelRoutes: rollouts.topLevelRoutes, httpObserver: rollouts.httpObserver } : {}),
    });
    // Before the rollout side stops: HTTP goes first, so no request reaches a closed engine.
    cleanups.unshift(() => app.close());

    await app.listen({ host: cfg.httpHost, port: cfg.httpPort });
    const url = listeningUrl(app);
    if (!cfg.publicUrlFromEnv) cfg.publicUrl = url;

    if (rollouts) {
      await rollouts.start();
      readiness.set('starting', undefined);
    }
    logger.info({ url, publicUrl: cfg.publicUrl, prefix: cfg.keyPrefix, dataDir: cfg.dataDir }, 'orchestrator listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      app,
      redis,
      config: cfg,
      readiness,
      ...(rollouts ? { rollouts } : {}),
      close: () => {
        closing ??= undo();
        return closing;
      },
    };
  } catch (error) {
    await undo();
    throw error;
  }
}

export interface FleetOrchestratorOptions extends RolloutServiceOptions {
  config: OrchestratorConfig;
  logger?: Logger;
  /** Extra /v1 route plugins. */
  extraRoutes?: FastifyPluginAsync[];
}

/** The whole orchestrator (startOrchestrator with its rollout side), its parts named for callers. */
export interface FleetOrchestrator {
  url: string;
  /** GET /metrics without a token, when FLEET_METRICS_PORT is set. */
  metricsUrl?: string;
  app: FastifyInstance;
  redis: Redis;
  prefix: string;
  readiness: Readiness;
  store: RolloutStore;
  events: EventLog;
  engine: RolloutEngine;
  consumer: StatusConsumer;
  reconciler: DirectiveReconciler;
  mqtt: MqttClient;
  close(): Promise<void>;
}

/** `fleet-ota serve` and the local stack: startOrchestrator with the rollout side. */
export async function startFleetOrchestrator(options: FleetOrchestratorOptions): Promise<FleetOrchestrator> {
  const { config, logger, extraRoutes, ...rolloutOptions } = options;
  const running = await startOrchestrator(config, { rollouts: rolloutOptions, ...(extraRoutes ? { extraRoutes } : {}) }, logger ?? createLogger('orchestrator'));
  const rollouts = running.rollouts!;
  return {
    url: running.url,
    ...(rollouts.metricsUrl ? { metricsUrl: rollouts.metricsUrl } : {}),
    app: running.app,
    redis: running.redis,
    prefix: running.config.keyPrefix,
    readiness: running.readiness,
    store: rollouts.store,
    events: rollouts.events,
    engine: rollouts.engine,
    consumer: rollouts.ingestion!.consumer,
    reconciler: rollouts.reconciler,
    mqtt: rollouts.mqtt,
    close: running.close,
  };
}
