// Liveness (the process answers) and readiness: Redis answers within a second, and no condition
// the process raised holds (orchestrator/infra/readiness.ts: the intake cannot write to Redis,
// Redis' eviction policy is not noeviction). Public: reasons carry no secret.
import type { FastifyPluginAsync } from 'fastify';
import { timeLimit } from '../../../runtime/time-limit.js';
import type { RouteOptions } from '../app.js';
import { HttpError } from '../errors.js';

const READY_TIMEOUT_MS = 1000;

const statusSchema = { type: 'object', properties: { status: { type: 'string' } } } as const;

export const healthRoutes: FastifyPluginAsync<RouteOptions> = async (app, { redis, readiness }) => {
  app.get('/healthz', { schema: { operationId: 'healthz', summary: 'Liveness', tags: ['health'], response: { 200: statusSchema } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { operationId: 'readyz', summary: 'Readiness: Redis reachable, intake writing, Redis never evicting', tags: ['health'], response: { 200: statusSchema, 503: { $ref: 'ApiError#' } } } }, async (_request, reply) => {
    try {
      await timeLimit(redis.ping(), READY_TIMEOUT_MS, () => {
        throw new Error('timeout');
      });
    } catch {
      throw new HttpError('not_ready', 'Redis is not reachable');
    }
    const problems = readiness.list();
    // Sent as is (a thrown 5xx would hide its message): the reasons are what an operator needs.
    if (problems.length > 0) return reply.code(503).send({ code: 'not_ready', message: problems.map((p) => `${p.check}: ${p.reason}`).join('; ') });
    return { status: 'ready' };
  });
};
