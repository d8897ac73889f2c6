// HTTP routes for rollouts (registered under /v1 by the app): create, read, page devices, and
// the operator actions. JSON schemas come from the zod spec, so validation and OpenAPI agree.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, preHandlerHookHandler } from 'fastify';
import type {} from '@fastify/swagger';
import { z } from 'zod';
import { DEVICE_STATES } from '../../protocol/index.js';
import { EventLog } from '../events/event-log.js';
import type { RolloutEngine } from './engine.js';
import { RolloutError } from './errors.js';
import { rolloutSpecSchema, type RolloutSpecInput } from './spec.js';
import type { RolloutStore } from './store.js';

type Role = 'operator' | 'read';
type WithRoles = FastifyInstance & { requireRole(role: Role): preHandlerHookHandler };

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } } } as const;
const specBody = z.toJSONSchema(rolloutSpecSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
delete specBody.$schema;

/**
 * Response header on rollout reads: the event log's newest id, read before the body. Every event
 * up to it is already reflected in the body, so a client following /v1/events skips those.
 */
export const EVENT_ID_HEADER = 'x-event-id';

function send(reply: FastifyReply, error: unknown): FastifyReply {
  if (error instanceof RolloutError) return reply.code(error.statusCode).send({ code: error.code, message: error.message });
  if (error instanceof z.ZodError) return reply.code(400).send({ code: 'invalid_request', message: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  throw error;
}

export function rolloutRoutes(engine: RolloutEngine, store: RolloutStore): FastifyPluginAsync {
  return async (instance) => {
    const app = instance as WithRoles;
    const operator = { preHandler: app.requireRole('operator') };
    const reader = { preHandler: app.requireRole('read') };

    app.post('/rollouts', { ...operator, schema: { tags: ['rollouts'], summary: 'Create (and by default start) a staged rollout', body: specBody } }, async (request, reply) => {
      try {
        return reply.code(201).send(await engine.create(request.body as RolloutSpecInput));
      } catch (error) {
        return send(reply, error);
      }
    });

    app.get<{ Querystring: { limit: number; cursor?: number } }>('/rollouts', {
      ...reader,
      schema: { tags: ['rollouts'], querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, cursor: { type: 'integer', minimum: 0 } } } },
    }, async (request, reply) => {
      void reply.header(EVENT_ID_HEADER, await new EventLog(store.redis, store.prefix).lastId());
      const page = await store.list(request.query.limit, request.query.cursor);
      const rollouts = await Promise.all(page.ids.map(async (id) => {
        const v = await store.view(id);
        return { id: v.id, releaseId: v.releaseId, status: v.status, statusReason: v.statusReason, currentWave: v.currentWave, waveCount: v.waves.length, total: v.total, counts: v.counts, createdAt: v.createdAt, updatedAt: v.updatedAt };
      }));
      return page.next === undefined ? { rollouts } : { rollouts, next: page.next };
    });

    app.get<{ Params: { id: string } }>('/rollouts/:id', { ...reader, schema: { tags: ['rollouts'], params: idParams } }, async (request, reply) => {
      try {
        void reply.header(EVENT_ID_HEADER, await new EventLog(store.redis, store.prefix).lastId());
        return await store.view(request.params.id);
      } catch (error) {
        return send(reply, error);
      }
    });

    app.get<{ Params: { id: string }; Querystring: { state?: string; wave?: number; cursor?: string; limit: number } }>('/rollouts/:id/devices', {
      ...reader,
      schema: {
        tags: ['rollouts'],
        params: idParams,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...DEVICE_STATES] },
            wave: { type: 'integer', minimum: 0, maximum: 31 },
            cursor: { type: 'string', pattern: '^[0-9]{1,20}$' },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
      },
    }, async (request, reply) => {
      try {
        await store.require(request.params.id);
        const { state, wave, cursor, limit } = request.query;
        return await store.devices(request.params.id, { limit, ...(state ? { state } : {}), ...(wave !== undefined ? { wave } : {}), ...(cursor ? { cursor } : {}) });
      } catch (error) {
        return send(reply, error);
      }
    });

    app.get<{ Params: { id: string; deviceId: string } }>('/rollouts/:id/devices/:deviceId', {
      ...reader,
      schema: { tags: ['rollouts'], params: { type: 'object', required: ['id', 'deviceId'], properties: { id: idParams.properties.id, deviceId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } } },
    }, async (request, reply) => {
      const entry = await store.deviceEntry(request.params.id, request.params.deviceId);
      if (!entry) return reply.code(404).send({ code: 'not_found', message: `device ${request.params.deviceId} is not in rollout ${request.params.id}` });
      // A device in two rollouts belongs to the newer one; say which.
      const owner = await store.redis.hget(`${store.prefix}device:${request.params.deviceId}`, 'rolloutId');
      return { id: request.params.deviceId, ...entry, ...(owner && owner !== request.params.id ? { supersededBy: owner } : {}) };
    });

    const actions = {
      start: (id: string) => engine.start(id),
      pause: (id: string, reason?: string) => engine.pause(id, reason ?? 'paused by operator'),
      resume: (id: string) => engine.resume(id),
      abort: (id: string, reason?: string) => engine.abort(id, reason ?? 'aborted by operator'),
      approve: (id: string) => engine.approve(id),
    } as const;
    for (const [name, run] of Object.entries(actions)) {
      // The body is optional (`{ reason }`), so it is checked here rather than by a body schema.
      app.post<{ Params: { id: string }; Body?: unknown }>(`/rollouts/:id/${name}`, { ...operator, schema: { tags: ['rollouts'], params: idParams, description: 'Optional JSON body: { "reason": "<at most 256 characters>" }' } }, async (request, reply) => {
        const body = request.body ?? {};
        const reason = typeof body === 'object' && body !== null ? (body as { reason?: unknown }).reason : undefined;
        if (typeof body !== 'object' || body === null || Array.isArray(body) || Object.keys(body).some((k) => k !== 'reason') || (reason !== undefined && (typeof reason !== 'string' || reason.length > 256))) {
          return reply.code(400).send({ code: 'invalid_request', message: 'the body is optional; when given it is { "reason": "<at most 256 characters>" }' });
        }
        try {
          return await run(request.params.id, reason);
        } catch (error) {
          return send(reply, error);
        }
      });
    }
  };
}
