// GET /v1/devices/:id/history: the device's state transitions across rollouts, newest first,
// each with its time, reason and the report that caused it (state/rollouts/device-history.ts).
import type { FastifyPluginAsync } from 'fastify';
import { DEVICE_HISTORY_MAX_ENTRIES, readDeviceHistory } from '../../../state/rollouts/device-history.js';
import type { RouteOptions } from '../app.js';
import { notFound } from '../errors.js';
import { bearer, deviceParams, errorResponses } from '../schemas.js';

const historyEntrySchema = {
  type: 'object',
  required: ['at', 'rolloutId', 'state', 'source'],
  properties: {
    at: { type: 'string', format: 'date-time' },
    rolloutId: { type: 'string' },
    from: { type: 'string' },
    state: { type: 'string' },
    reason: { type: 'string' },
    source: { type: 'string', enum: ['report', 'engine'] },
    detail: {
      type: 'object',
      properties: {
        seq: { type: 'integer' },
        counter: { type: 'integer' },
        progress: { type: 'number' },
        reportedAt: { type: 'string' },
        installedReleaseId: { type: 'string' },
        installedSequence: { type: 'integer' },
      },
    },
  },
} as const;

export const deviceHistoryRoutes: FastifyPluginAsync<RouteOptions> = async (app, { redis, keyPrefix }) => {
  app.get<{ Params: { id: string }; Querystring: { limit: number } }>('/devices/:id/history', {
    onRequest: app.requireRole('read'),
    schema: {
      operationId: 'getDeviceHistory',
      summary: `A device's state transitions across rollouts, newest first (the ${DEVICE_HISTORY_MAX_ENTRIES} most recent are kept)`,
      tags: ['devices'],
      security: bearer,
      params: deviceParams,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { limit: { type: 'integer', minimum: 1, maximum: DEVICE_HISTORY_MAX_ENTRIES, default: DEVICE_HISTORY_MAX_ENTRIES } },
      },
      response: {
        200: {
          type: 'object',
          required: ['deviceId', 'entries', 'limit'],
          properties: {
            deviceId: { type: 'string' },
            entries: { type: 'array', items: historyEntrySchema },
            limit: { type: 'integer', description: 'Entries kept per device' },
          },
        },
        ...errorResponses,
      },
    },
  }, async (request) => {
    if (!(await app.services.registry.get(request.params.id))) throw notFound('device', request.params.id);
    return { deviceId: request.params.id, entries: await readDeviceHistory(redis, keyPrefix, request.params.id, request.query.limit), limit: DEVICE_HISTORY_MAX_ENTRIES };
  });
};
