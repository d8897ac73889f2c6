// HTTP routes for rollouts (registered under /v1 by the app): create, read, page devices, and
// the operator actions. Request and reply schemas come from zod (http/rollout-schemas.ts), so
// validation, serialization and the OpenAPI document agree with the spec and the stored types.
// Refusals before the engine runs: a spec problem keeps its own code (spec.ts), a release some
// targets would reject as a rollback needs `force`, `approve` only promotes a manual wave.
// Errors are thrown, never answered here: the app's error handler maps every code (http/errors.ts).
import type { FastifyInstance, FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import type {} from '@fastify/swagger';
import { DEVICE_STATES } from '../../protocol/index.js';
import type { EventLog } from '../events/event-log.js';
import { idOf } from '../http/audit-hook.js';
import { HttpError } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { rolloutJsonSchemas as schemas } from '../http/rollout-schemas.js';
import type { RolloutEngine } from './engine.js';
import { DEVICE_PAGE_CURSOR } from '../../state/rollouts/device-page.js';
import { RolloutError } from './errors.js';
import type { RolloutSpecInput } from './spec.js';
import type { RolloutStore } from './store.js';

type Role = 'operator' | 'read';
type WithRoles = FastifyInstance & { requireRole(role: Role): onRequestHookHandler };

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } } } as const;

/**
 * Response header on rollout reads: the event log's newest id, read before the body. Every event
 * up to it is already reflected in the body, so a client following /v1/events skips those.
 */
export const EVENT_ID_HEADER = 'x-event-id';

export interface RolloutPreflight {
  /** Devices the rollout covers (after exclusions). */
  targets: number;
  /** Of those, devices whose installed sequence is at or above the release's: they will reject it (`rollback`). */
  willReject: number;
  releaseSequence: number;
}

export function rolloutRoutes(engine: RolloutEngine, store: RolloutStore, events: EventLog): FastifyPluginAsync {
  return async (instance) => {
    const app = instance as WithRoles;
    // onRequest: a request without a valid token is refused before its body is read.
    const operator = { onRequest: app.requireRole('operator') };
    const reader = { onRequest: app.requireRole('read') };

    app.post('/rollouts', {
      ...operator,
      config: { audit: { action: 'rollout.create', target: (_request, body) => idOf(body) } },
      schema: { operationId: 'createRollout', tags: ['rollouts'], summary: 'Create (and by default start) a staged rollout', body: schemas.spec, response: { 201: schemas.created, ...errorResponses } },
    }, async (request, reply) => {
      // The engine plans and refuses (empty_target, release_not_newer, blast_radius_exceeded: plan-rollout.ts).
      const { view, plan } = await engine.createPlanned(request.body as RolloutSpecInput);
      const preflight: RolloutPreflight = { targets: plan.targets, willReject: plan.willReject, releaseSequence: plan.release.sequence };
      return reply.code(201).send({ ...view, preflight });
    });

    app.post('/rollouts/preview', {
      ...operator,
      schema: {
        operationId: 'previewRollout',
        tags: ['rollouts'],
        summary: 'Dry run: what POST /rollouts would do with this spec (target, waves and members, exclusions and why, estimate, blast radius); writes nothing, notifies no one',
        body: schemas.spec,
        response: { 200: schemas.preview, ...errorResponses },
      },
    }, async (request) => engine.preview(request.body as RolloutSpecInput));

    app.get<{ Querystring: { limit: number; cursor?: number } }>('/rollouts', {
      ...reader,
      schema: {
        operationId: 'listRollouts',
        tags: ['rollouts'],
        summary: 'List rollouts, newest first (cursor paging)',
        querystring: { type: 'object', additionalProperties: false, properties: { limit: { type: 'integer', minimum: 1, maximum: 200, default: 50 }, cursor: { type: 'integer', minimum: 0 } } },
        response: { 200: schemas.page, ...errorResponses },
      },
    }, async (request, reply) => {
      void reply.header(EVENT_ID_HEADER, await events.lastId());
      const page = await store.state.list(request.query.limit, request.query.cursor);
      const rollouts = await Promise.all(page.ids.map(async (id) => {
        const v = await store.view(id);
        return { id: v.id, releaseId: v.releaseId, status: v.status, statusReason: v.statusReason, currentWave: v.currentWave, waveCount: v.waves.length, total: v.total, counts: v.counts, createdAt: v.createdAt, updatedAt: v.updatedAt };
      }));
      return page.next === undefined ? { rollouts } : { rollouts, next: page.next };
    });

    app.get<{ Params: { id: string } }>('/rollouts/:id', {
      ...reader,
      schema: { operationId: 'getRollout', tags: ['rollouts'], summary: 'A rollout: status, waves, counts by state and reason', params: idParams, response: { 200: schemas.view, ...errorResponses } },
    }, async (request, reply) => {
      void reply.header(EVENT_ID_HEADER, await events.lastId());
      return await store.view(request.params.id);
    });

    app.get<{ Params: { id: string }; Querystring: { state?: string; wave?: number; cursor?: string; limit: number } }>('/rollouts/:id/devices', {
      ...reader,
      schema: {
        operationId: 'listRolloutDevices',
        tags: ['rollouts'],
        summary: 'Devices of a rollout, optionally of one state or wave (at most `limit`; cursor `<scan>.<offset>`)',
        params: idParams,
        response: { 200: schemas.devicesPage, ...errorResponses },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            state: { type: 'string', enum: [...DEVICE_STATES] },
            wave: { type: 'integer', minimum: 0, maximum: 31 },
            cursor: { type: 'string', pattern: DEVICE_PAGE_CURSOR.source },
            limit: { type: 'integer', minimum: 1, maximum: 500, default: 100 },
          },
        },
      },
    }, async (request) => {
      await store.require(request.params.id);
      const { state, wave, cursor, limit } = request.query;
      return await store.state.devicePage(request.params.id, { limit, ...(state ? { state } : {}), ...(wave !== undefined ? { wave } : {}), ...(cursor ? { cursor } : {}) });
    });

    app.get<{ Params: { id: string; deviceId: string } }>('/rollouts/:id/devices/:deviceId', {
      ...reader,
      schema: {
        operationId: 'getRolloutDevice',
        tags: ['rollouts'],
        summary: 'One device of a rollout: state, wave, progress, reason',
        params: { type: 'object', required: ['id', 'deviceId'], properties: { id: idParams.properties.id, deviceId: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,64}$' } } },
        response: { 200: schemas.device, ...errorResponses },
      },
    }, async (request) => {
      const entry = await store.state.deviceEntry(request.params.id, request.params.deviceId);
      if (!entry) throw new HttpError('not_found', `device ${request.params.deviceId} is not in rollout ${request.params.id}`);
      // A device in two rollouts belongs to the newer one; say which.
      const [owner] = await store.state.deviceOwners([request.params.deviceId]);
      return { id: request.params.deviceId, ...entry, ...(owner && owner !== request.params.id ? { supersededBy: owner } : {}) };
    });

    const actions = {
      start: (id: string) => engine.start(id),
      pause: (id: string, reason?: string) => engine.pause(id, reason ?? 'paused by operator'),
      resume: (id: string) => engine.resume(id),
      abort: (id: string, reason?: string) => engine.abort(id, reason ?? 'aborted by operator'),
      approve: async (id: string) => {
        const view = await store.view(id);
        const wave = view.waves[view.currentWave];
        const last = view.currentWave === view.waves.length - 1;
        // The last wave of a dynamic rollout waits for approve: it closes the rollout to joiners.
        const manual = view.spec.waves[view.currentWave]?.promotion === 'manual' || (view.spec.dynamic === true && last);
        // Approving anything else would only pre-approve silently (a paused rollout continues by resume).
        if (view.status !== 'running' || !wave || wave.status === 'done' || !(manual || wave.status === 'awaiting_approval')) {
          const why = view.status === 'paused'
            ? `rollout ${id} is paused (${view.statusReason || 'no reason'}); resume continues it`
            : view.status !== 'running'
              ? `rollout ${id} is ${view.status}`
              : `wave ${view.currentWave + 1} of ${id} promotes automatically`;
          throw new RolloutError('not_approvable', `${why}; approve only promotes a manual wave of a running rollout`);
        }
        return engine.approve(id);
      },
    } as const;
    const summaries: Record<keyof typeof actions, string> = {
      start: 'Start a rollout created with start: false',
      pause: 'Pause a running rollout (no new notifications)',
      resume: 'Resume a paused rollout',
      abort: 'Abort a rollout: devices not yet terminal are canceled',
      approve: 'Approve the current wave of a running rollout under manual promotion (409 not_approvable otherwise)',
    };
    for (const [name, run] of Object.entries(actions) as Array<[keyof typeof actions, (id: string, reason?: string) => Promise<unknown>]>) {
      app.post<{ Params: { id: string }; Body?: { reason?: string } }>(`/rollouts/:id/${name}`, {
        ...operator,
        config: { audit: { action: `rollout.${name}` } },
        // The body is optional: a missing one is validated as {}.
        preValidation: async (request) => {
          request.body ??= {};
        },
        // Validation failures answer bad_request with a hint at the optional body.
        attachValidation: true,
        schema: {
          operationId: `${name}Rollout`,
          tags: ['rollouts'],
          summary: summaries[name],
          description: 'Optional JSON body: { "reason": "<at most 256 characters>" }',
          params: idParams,
          body: schemas.actionBody,
          response: { 200: schemas.view, ...errorResponses },
        },
      }, async (request) => {
        if (request.validationError) {
          throw new HttpError('bad_request', `${request.validationError.message}; the body is optional, when given it is { "reason": "<at most 256 characters>" }`);
        }
        return await run(request.params.id, request.body?.reason);
      });
    }
  };
}
