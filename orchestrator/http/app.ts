// The HTTP application as a factory (fastify/demo style: app.ts builds, server.ts boots).
// Load order: external plugins (swagger) → services and auth decorators → core /v1 routes →
// extra route plugins (the rollout engine's) under the same /v1 prefix. It never listens.
import swagger from '@fastify/swagger';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { ApiRole } from '../auth/tokens.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../infra/logger.js';
import type { KeyChecker } from '../registry/key-checker.js';
import { roleHook, type RoleHook } from './auth.js';
import { toErrorReply } from './errors.js';
import { artifactRoutes } from './routes/artifacts.js';
import { deviceImportRoutes } from './routes/device-import.js';
import { deviceRoutes } from './routes/devices.js';
import { fleetRoutes } from './routes/fleet.js';
import { healthRoutes } from './routes/health.js';
import { openapiRoutes } from './routes/openapi.js';
import { releaseRoutes } from './routes/releases.js';
import { rootRoutes } from './routes/roots.js';
import { deviceSchema, envelopeSchema, errorSchema } from './schemas.js';
import { createServices, type Services } from './services.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest / preHandler hook: 401 without a known token, 403 when the role is too weak ('operator' implies 'read'). */
    requireRole(role: ApiRole): RoleHook;
    services: Services;
  }
  interface FastifyRequest {
    auth?: { role: ApiRole };
  }
}

export interface AppDeps {
  redis: Redis;
  prefix: string;
  config: OrchestratorConfig;
  logger?: Logger;
  artifactStore?: ArtifactStore;
  /** Registered under /v1 after the core routes, with requireRole and services available. */
  extraRoutes?: Array<FastifyPluginAsync>;
  /** Registered at the root after /v1 (the dashboard, /metrics). */
  topLevelRoutes?: Array<FastifyPluginAsync>;
}

export interface BuildAppOptions {
  now?: () => Date;
  keyChecker?: KeyChecker;
}

/** What every route plugin receives as options. */
export interface RouteOptions {
  config: OrchestratorConfig;
  redis: Redis;
}

export async function buildApp(deps: AppDeps, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    bodyLimit: deps.config.maxBodyBytes,
    // Unknown fields are refused, not silently dropped; query strings still coerce types.
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', allErrors: false } },
  }) as unknown as FastifyInstance;

  await app.register(swagger, {
    // Shared schemas appear in the document under their $id (ApiError, Device, Envelope).
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      info: { title: 'fleet-ota orchestrator', version: '1', description: 'Device registry, releases, artifacts and roots (docs/design.md).' },
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer' } } },
    },
  });
  // JSON only, unless a route plugin registers another parser for itself (import, upload):
  // text/plain would otherwise reach the schema check and be refused as a bad body, not a 415.
  app.removeContentTypeParser('text/plain');
  app.addSchema(errorSchema);
  app.addSchema(deviceSchema);
  app.addSchema(envelopeSchema);

  const services = createServices({
    redis: deps.redis,
    prefix: deps.prefix,
    config: deps.config,
    ...(deps.artifactStore ? { artifactStore: deps.artifactStore } : {}),
    ...(options.keyChecker ? { keyChecker: options.keyChecker } : {}),
    ...(options.now ? { now: options.now } : {}),
  });
  app.decorate('services', services);
  app.decorate('requireRole', (role: ApiRole) => roleHook(deps.redis, deps.prefix, role));
  app.decorateRequest('auth', undefined);
  app.addHook('onClose', async () => services.close());

  app.setErrorHandler((error, request, reply) => {
    const { statusCode, body } = toErrorReply(error);
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(statusCode).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  const routeOptions: RouteOptions = { config: deps.config, redis: deps.redis };
  await app.register(async (v1) => {
    await v1.register(healthRoutes, routeOptions);
    await v1.register(openapiRoutes, routeOptions);
    await v1.register(deviceRoutes, routeOptions);
    await v1.register(deviceImportRoutes, routeOptions);
    await v1.register(fleetRoutes, routeOptions);
    await v1.register(artifactRoutes, routeOptions);
    await v1.register(releaseRoutes, routeOptions);
    await v1.register(rootRoutes, routeOptions);
    for (const plugin of deps.extraRoutes ?? []) await v1.register(plugin);
  }, { prefix: '/v1' });
  for (const plugin of deps.topLevelRoutes ?? []) await app.register(plugin);
  return app;
}
