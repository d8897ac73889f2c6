// Boots the orchestrator: Redis (refusing an evicting one, and re-checking that while it runs),
// bootstrap tokens, the artifact store, the HTTP app, then listens. Routes and background workers plug in through hooks.
// It installs no signal handlers: `fleet-ota serve` does (launcher/commands/serve.ts).
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { RedisClient as Redis } from '../state/redis.js';
import type { AddressInfo } from 'node:net';
import { createFsArtifactStore } from './artifacts/fs-store.js';
import { withArtifactCache } from './artifacts/memory-cache.js';
import { storeBootstrapTokens } from './auth/tokens.js';
import type { OrchestratorConfig } from './config.js';
import { buildApp } from './http/app.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { Readiness } from './infra/readiness.js';
import { assertNoEviction, createRedis } from '../state/redis.js';
import type { HttpObserver } from './metrics/event-metrics.js';
import { watchEvictionPolicy } from './infra/redis-policy-watch.js';

export interface StartedContext {
  url: string;
  app: FastifyInstance;
  redis: Redis;
  config: OrchestratorConfig;
  logger: Logger;
  /** Conditions that make /v1/readyz answer 503 (the intake raises its own here). */
  readiness: Readiness;
}

export interface OrchestratorHooks {
  /** Route plugins registered under /v1 after the core routes (the rollout engine's). */
  extraRoutes?: FastifyPluginAsync[];
  /** Route plugins registered at the root (the dashboard, /metrics). */
  topLevelRoutes?: FastifyPluginAsync[];
  /** Told of every finished request and artifact bytes sent (metrics). */
  httpObserver?: HttpObserver;
  /** Runs once the server listens (start background workers here). */
  onStarted?(ctx: StartedContext): Promise<void>;
  /** Runs first on close (stop background workers here), before HTTP and Redis go away. */
  onClose?(): Promise<void>;
}

export interface RunningOrchestrator {
  url: string;
  app: FastifyInstance;
  redis: Redis;
  readiness: Readiness;
  close(): Promise<void>;
}

export async function startOrchestrator(config: OrchestratorConfig, hooks: OrchestratorHooks = {}, logger: Logger = createLogger('orchestrator')): Promise<RunningOrchestrator> {
  // A copy: the public URL is fixed up below once an OS-chosen port is known.
  const cfg: OrchestratorConfig = { ...config };
  const redis = createRedis(cfg.redisUrl, {}, { name: 'orchestrator', logger });
  const readiness = new Readiness();
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

    const app = await buildApp({ redis, prefix: cfg.keyPrefix, config: cfg, logger, artifactStore, ...(hooks.extraRoutes ? { extraRoutes: hooks.extraRoutes } : {}), ...(hooks.topLevelRoutes ? { topLevelRoutes: hooks.topLevelRoutes } : {}), ...(hooks.httpObserver ? { httpObserver: hooks.httpObserver } : {}), readiness });
    cleanups.unshift(() => app.close());

    await app.listen({ host: cfg.httpHost, port: cfg.httpPort });
    const address = app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const url = `http://${host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host}:${address.port}`;
    if (!cfg.publicUrlFromEnv) cfg.publicUrl = url;

    // Registered first so that a half-started set of workers is still stopped.
    if (hooks.onClose) cleanups.unshift(hooks.onClose);
    if (hooks.onStarted) await hooks.onStarted({ url, app, redis, config: cfg, logger, readiness });
    logger.info({ url, publicUrl: cfg.publicUrl, prefix: cfg.keyPrefix, dataDir: cfg.dataDir }, 'orchestrator listening');

    let closing: Promise<void> | undefined;
    return {
      url,
      app,
      redis,
      readiness,
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
