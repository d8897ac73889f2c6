// Device routes: register one, list with filters and cursor, show one, change groups / tags /
// attributes, revoke.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { idOf } from '../audit-hook.js';
import { notFound } from '../errors.js';
import { parseQuery } from '../../registry/query/parse-query.js';
import { bearer, deviceInputSchema, deviceListQuery, deviceParams, devicePatchSchema, errorResponses } from '../schemas.js';

interface ListQuery {
  group?: string;
  tag?: string;
  vendorId?: string;
  classId?: string;
  revoked?: boolean;
  installedReleaseId?: string;
  idPrefix?: string;
  presence?: 'online' | 'offline' | 'unknown';
  lastState?: string;
  q?: string;
  cursor?: string;
  limit?: number;
}

export const deviceRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  const { registry } = app.services;
  const read = app.requireRole('read');
  const operator = app.requireRole('operator');

  app.post('/devices', {
    onRequest: operator,
    config: { audit: { action: 'device.register', target: (_request, body) => idOf(body) } },
    schema: { operationId: 'registerDevice', summary: 'Register one device', tags: ['devices'], security: bearer, body: deviceInputSchema, response: { 201: { $ref: 'Device#' }, ...errorResponses } },
  }, async (request, reply) => reply.status(201).send(await registry.register(request.body)));

  app.get<{ Querystring: ListQuery }>('/devices', {
    onRequest: read,
    schema: {
      operationId: 'listDevices',
      summary: 'List devices (filters, a device query `q`, cursor paging in id order)',
      tags: ['devices'],
      security: bearer,
      querystring: deviceListQuery,
      response: {
        200: {
          type: 'object',
          required: ['devices', 'nextCursor'],
          properties: { devices: { type: 'array', items: { $ref: 'Device#' } }, nextCursor: { type: ['string', 'null'] } },
        },
        ...errorResponses,
      },
    },
  }, async (request) => {
    const { cursor, limit, q, ...filter } = request.query;
    return registry.list({ ...filter, ...(q !== undefined ? { query: parseQuery(q) } : {}) }, { ...(cursor !== undefined ? { cursor } : {}), ...(limit !== undefined ? { limit } : {}) });
  });

  app.get<{ Params: { id: string } }>('/devices/:id', {
    onRequest: read,
    schema: { operationId: 'getDevice', summary: 'Show one device', tags: ['devices'], security: bearer, params: deviceParams, response: { 200: { $ref: 'Device#' }, ...errorResponses } },
  }, async (request) => {
    const device = await registry.get(request.params.id);
    if (!device) throw notFound('device', request.params.id);
    return device;
  });

  app.patch<{ Params: { id: string } }>('/devices/:id', {
    onRequest: operator,
    config: { audit: { action: 'device.update' } },
    schema: {
      operationId: 'updateDevice',
      summary: 'Change a device: groups and tags replaced, attributes merged (null removes one)',
      tags: ['devices'],
      security: bearer,
      params: deviceParams,
      body: devicePatchSchema,
      response: { 200: { $ref: 'Device#' }, ...errorResponses },
    },
  }, async (request) => registry.patch(request.params.id, request.body));

  app.post<{ Params: { id: string } }>('/devices/:id/revoke', {
    onRequest: operator,
    config: { audit: { action: 'device.revoke' } },
    schema: {
      operationId: 'revokeDevice',
      summary: 'Revoke a device (the broker drops it: revocation channel)',
      tags: ['devices'],
      security: bearer,
      params: deviceParams,
      response: { 200: { $ref: 'Device#' }, ...errorResponses },
    },
  }, async (request) => registry.revoke(request.params.id));
};
