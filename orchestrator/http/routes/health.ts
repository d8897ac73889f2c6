// Liveness (the process answers) and readiness (Redis answers within a second). Public.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { ApiError } from '../errors.js';

const READY_TIMEOUT_MS = 1000;

const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

export const healthRoutes: FastifyPluginAsync<RouteOptions> = async (app, { redis }) => {
  app.get('/healthz', { schema: { operationId: 'healthz', summary: 'Liveness', tags: ['health'], response: { 200: statusSchema } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { operationId: 'readyz', summary: 'Readiness: Redis reachable', tags: ['health'], response: { 200: statusSchema, 503: { $ref: 'ApiError#' } } } }, async () => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timeout')), READY_TIMEOUT_MS);
    });
    try {
      await Promise.race([redis.ping(), timeout]);
    } catch {
      throw new ApiError(503, 'not_ready', 'Redis is not reachable');
    } finally {
      clearTimeout(timer);
    }
    return { status: 'ready' };
  });
};
