// The HTTP application as a factory (fastify/demo style: app.ts builds, server.ts boots).
// Load order: external plugins (swagger) → services and auth decorators → core /v1 routes →
// extra route plugins (the rollout engine's) under the same /v1 prefix. It never listens.
// OpenAPI 3.1 (JSON Schema 2020-12), so the zod-made schemas go in as they are; a route's
// security is read from the role hook it really runs (documentRouteSecurity), not written twice.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, type RouteOptions as RouteOptionsOfFastify } from 'fastify';
import type { RedisClient as Redis } from '../../state/redis.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import type { ApiRole } from '../auth/tokens.js';
import type { OrchestratorConfig } from '../config.js';
import type { Logger } from '../../runtime/logger.js';
import { Readiness } from '../infra/readiness.js';
import type { KeyChecker } from '../registry/key-checker.js';
import type { HttpObserver } from '../metrics/event-metrics.js';
import { AuditLog } from '../audit/audit-log.js';
import { registerAuditHook } from './audit-hook.js';
import { requiredRoleOf, roleHook, type RoleHook } from './auth.js';
import { toErrorReply } from './errors.js';
import { artifactRoutes } from './routes/artifacts.js';
import { auditRoutes } from './routes/audit.js';
import { deviceHistoryRoutes } from './routes/device-history.js';
import { deviceImportRoutes } from './routes/device-import.js';
import { deviceRoutes } from './routes/devices.js';
import { fleetRoutes } from './routes/fleet.js';
import { healthRoutes } from './routes/health.js';
import { openapiRoutes } from './routes/openapi.js';
import { releaseRoutes } from './routes/releases.js';
import { rootRoutes } from './routes/roots.js';
import { whoamiRoutes } from './routes/whoami.js';
import { bearer, deviceSchema, envelopeSchema, errorSchema } from './schemas.js';
import { createServices, type Services } from './services.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** onRequest / preHandler hook: 401 without a known token, 403 when the role is too weak ('operator' implies 'read'). */
    requireRole(role: ApiRole): RoleHook;
    services: Services;
  }
  interface FastifyRequest {
    /** Who called: set by requireRole (token id = first hash characters; never the token). */
    auth?: { role: ApiRole; tokenId?: string; label?: string };
  }
}

export interface AppDeps {
  redis: Redis;
  prefix: string;
  config: OrchestratorConfig;
  logger?: Logger;
  artifactStore?: ArtifactStore;
  /**
   * The application services, when the composition root built them first (the rollout engine
   * uses them too); their owner closes them. Without: made here from the deps, closed with the app.
   */
  services?: Services;
  /** Registered under /v1 after the core routes, with requireRole and services available. */
  extraRoutes?: Array<FastifyPluginAsync>;
  /** Registered at the root after /v1 (the dashboard, /metrics). */
  topLevelRoutes?: Array<FastifyPluginAsync>;
  /** Told of every finished request and of artifact bytes sent (the orchestrator's metrics). */
  httpObserver?: HttpObserver;
  /** Conditions that make GET /v1/readyz answer 503 besides Redis' PING (default: none raised). */
  readiness?: Readiness;
}

export interface BuildAppOptions {
  now?: () => Date;
  keyChecker?: KeyChecker;
}

/** Where Swagger UI is served (under /v1); its assets come from the swagger-ui-dist package, no CDN. */
export const DOCS_PATH = '/docs';

/**
 * onRoute: a route guarded by requireRole is documented with the bearer scheme, its 401 and
 * 403 replies and the role it needs, so the document cannot claim less (or more) than is enforced.
 */
function documentRouteSecurity(route: RouteOptionsOfFastify): void {
  const role = requiredRoleOf(route.onRequest) ?? requiredRoleOf(route.preHandler);
  if (!role || !route.schema || (route.schema as { hide?: boolean }).hide) return;
  const schema = route.schema as Record<string, unknown> & { response?: Record<string, unknown>; description?: string };
  schema.security ??= bearer;
  schema.response = { 401: { $ref: 'ApiError#' }, 403: { $ref: 'ApiError#' }, ...schema.response };
  const needs = `Needs a bearer token with the ${role} role${role === 'read' ? ' (an operator token also works)' : ''}.`;
  schema.description = schema.description ? `${schema.description}\n\n${needs}` : needs;
}

/** What every route plugin receives as options. */
export interface RouteOptions {
  config: OrchestratorConfig;
  redis: Redis;
  observer: HttpObserver;
  readiness: Readiness;
  /** The Redis key prefix every key of this app lives under (not `prefix`: Fastify reads that as a route prefix). */
  keyPrefix: string;
}

const NO_OBSERVER: HttpObserver = { request: () => undefined, artifactBytes: () => undefined };

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
      openapi: '3.1.0',
      info: {
        title: 'fleet-ota orchestrator',
        version: '1',
        description: 'Device registry, releases, artifacts, roots, rollouts and events (docs/design.md). Errors are { code, message }.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'An operator or read-only token (fleet-ota tokens create).' } } },
    },
  });
  app.addHook('onRoute', documentRouteSecurity);
  const observer = deps.httpObserver ?? NO_OBSERVER;
  if (deps.httpObserver) {
    // The route pattern, never the URL, so ids never become label values; 404s share one label.
    app.addHook('onResponse', async (request, reply) => {
      observer.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    });
  }
  // JSON only, unless a route plugin registers another parser for itself (import, upload):
  // text/plain would otherwise reach the schema check and be refused as a bad body, not a 415.
  app.removeContentTypeParser('text/plain');
  app.addSchema(errorSchema);
  app.addSchema(deviceSchema);
  app.addSchema(envelopeSchema);

  let services = deps.services;
  if (!services) {
    const own = createServices({
      redis: deps.redis,
      prefix: deps.prefix,
      config: deps.config,
      ...(deps.artifactStore ? { artifactStore: deps.artifactStore } : {}),
      ...(options.keyChecker ? { keyChecker: options.keyChecker } : {}),
      ...(options.now ? { now: options.now } : {}),
    });
    app.addHook('onClose', async () => own.close());
    services = own;
  }
  app.decorate('services', services);
  const now = options.now ?? (() => new Date());
  app.decorate('requireRole', (role: ApiRole) => roleHook(deps.redis, deps.prefix, role, now));
  app.decorateRequest('auth', undefined);
  registerAuditHook(app, new AuditLog(deps.redis, deps.prefix), now);

  app.setErrorHandler((error, request, reply) => {
    const { statusCode, body } = toErrorReply(error);
    if (statusCode >= 500) request.log.error({ err: error }, 'request failed');
    return reply.status(statusCode).type('application/json; charset=utf-8').send(body);
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ code: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  const routeOptions: RouteOptions = { config: deps.config, redis: deps.redis, observer, readiness: deps.readiness ?? new Readiness(), keyPrefix: deps.prefix };
  await app.register(async (v1) => {
    // Public, like the document it shows: GET /v1/docs/ (static assets under /v1/docs/static/).
    await v1.register(swaggerUi, { routePrefix: DOCS_PATH, staticCSP: true, uiConfig: { url: '/v1/openapi.json', deepLinking: true } });
    await v1.register(healthRoutes, routeOptions);
    await v1.register(openapiRoutes, routeOptions);
    await v1.register(deviceRoutes, routeOptions);
    await v1.register(deviceImportRoutes, routeOptions);
    await v1.register(fleetRoutes, routeOptions);
    await v1.register(artifactRoutes, routeOptions);
    await v1.register(releaseRoutes, routeOptions);
    await v1.register(rootRoutes, routeOptions);
    await v1.register(whoamiRoutes, routeOptions);
    await v1.register(auditRoutes, routeOptions);
    await v1.register(deviceHistoryRoutes, routeOptions);
    for (const plugin of deps.extraRoutes ?? []) await v1.register(plugin);
  }, { prefix: '/v1' });
  for (const plugin of deps.topLevelRoutes ?? []) await app.register(plugin);
  return app;
}
