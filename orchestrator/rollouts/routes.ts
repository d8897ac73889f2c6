// HTTP routes for rollouts (registered under /v1 by the app): create, read, page devices, and
// the operator actions. Request and reply schemas come from zod (http/rollout-schemas.ts), so
// validation, serialization and the OpenAPI document agree with the spec and the stored types.
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, onRequestHookHandler } from 'fastify';
import type {} from '@fastify/swagger';
import { z } from 'zod';
import { DEVICE_STATES } from '../../protocol/index.js';
import { EventLog } from '../events/event-log.js';
import { errorResponses } from '../http/schemas.js';
import { rolloutJsonSchemas as schemas } from '../http/rollout-schemas.js';
import type { RolloutEngine } from './engine.js';
import { RolloutError } from './errors.js';
import type { RolloutSpecInput } from './spec.js';
import type { RolloutStore } from './store.js';

type Role = 'operator' | 'read';
type WithRoles = FastifyInstance & { requireRole(role: Role): onRequestHookHandler };

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } } } as const;
/** Every rollout route also answers 503 `starting` until the engine is up (service.ts). */
const replies = { ...errorResponses, 503: { $ref: 'ApiError#' } } as const;

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
    // onRequest: a request without a valid token is refused before its body is read.
    const operator = { onRequest: app.requireRole('operator') };
    const reader = { onRequest: app.requireRole('read') };

    app.post('/rollouts', {
      ...operator,
      schema: { operationId: 'createRollout', tags: ['rollouts'], summary: 'Create (and by default start) a staged rollout', body: schemas.spec, response: { 201: schemas.view, ...replies } },
    }, async (request, reply) => {
      try {
        return reply.code(201).send(await engine.create(request.body as RolloutSpecInput));
      } catch (error) {
        return send(reply, error);
      }
    });

    app.get<{ Querystring: { limit: number; cursor?: number } }>('/rollouts', {
      ...reader,
      schema: {
        operationId: 'listRollouts',
        tags: ['rollouts'],
        summary: 'List rollouts, newest first (cursor paging)',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, cursor: { type: 'integer', minimum: 0 } } },
        response: { 200: schemas.page, ...replies },
      },
    }, async (request, reply) => {
      void reply.header(EVENT_ID_HEADER, await new EventLog(store.redis, store.prefix).lastId());
      const page = await store.list(request.query.limit, request.query.cursor);
      const rollouts = await Promise.all(page.ids.map(async (id) => {
        const v = await store.view(id);
        return { id: v.id, releaseId: v.releaseId, status: v.status, statusReason: v.statusReason, currentWave: v.currentWave, waveCount: v.waves.length, total: v.total, counts: v.counts, createdAt: v.createdAt, updatedAt: v.updatedAt };
      }));
      return page.next === undefined ? { rollouts } : { rollouts, next: page.next };
    });

    app.get<{ Params: { id: string } }>('/rollouts/:id', {
      ...reader,
      schema: { operationId: 'getRollout', tags: ['rollouts'], summary: 'A rollout: status, waves, counts by state and reason', params: idParams, response: { 200: schemas.view, ...replies } },
    }, async (request, reply) => {
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
        operationId: 'listRolloutDevices',
        tags: ['rollouts'],
        summary: 'Devices of a rollout, optionally of one state or wave (HSCAN cursor paging)',
        params: idParams,
        response: { 200: schemas.devicesPage, ...replies },
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
      schema: {
        operationId: 'getRolloutDevice',
        tags: ['rollouts'],
        summary: 'One device of a rollout: state, wave, progress, reason',
        params: { type: 'object', required: ['id', 'deviceId'], properties: { id: idParams.properties.id, deviceId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } },
        response: { 200: schemas.device, ...replies },
      },
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
    const summaries: Record<keyof typeof actions, string> = {
      start: 'Start a rollout created with start: false',
      pause: 'Pause a running rollout (no new notifications)',
      resume: 'Resume a paused rollout',
      abort: 'Abort a rollout: devices not yet terminal are canceled',
      approve: 'Approve the current wave of a rollout awaiting manual promotion',
    };
    for (const [name, run] of Object.entries(actions) as Array<[keyof typeof actions, (id: string, reason?: string) => Promise<unknown>]>) {
      app.post<{ Params: { id: string }; Body?: { reason?: string } }>(`/rollouts/:id/${name}`, {
        ...operator,
        // The body is optional: a missing one is validated as {}.
        preValidation: async (request) => {
          request.body ??= {};
        },
        // Validation failures answer with this area's `invalid_request` code.
        attachValidation: true,
        schema: {
          operationId: `${name}Rollout`,
          tags: ['rollouts'],
          summary: summaries[name],
          description: 'Optional JSON body: { "reason": "<at most 256 characters>" }',
          params: idParams,
          body: schemas.actionBody,
          response: { 200: schemas.view, ...replies },
        },
      }, async (request, reply) => {
        if (request.validationError) {
          return reply.code(400).send({ code: 'invalid_request', message: `${request.validationError.message}; the body is optional, when given it is { "reason": "<at most 256 characters>" }` });
        }
        const reason = request.body?.reason;
        try {
          return await run(request.params.id, reason);
        } catch (error) {
          return send(reply, error);
        }
      });
    }
  };
}
