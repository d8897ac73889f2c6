// Root routes: publish a root version signed offline (operator), and the public chain that
// devices and the simulator provision from.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { rootTarget } from '../audit-hook.js';
import { HttpError } from '../errors.js';
import { bearer, envelopeInputSchema, errorResponses } from '../schemas.js';

export const rootRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  const { roots } = app.services;

  app.post('/roots', {
    onRequest: app.requireRole('operator'),
    config: { audit: { action: 'root.publish', target: (_request, body) => rootTarget(body) } },
    schema: {
      operationId: 'publishRoot',
      summary: 'Publish a root version (the first must verify by itself; later ones against the current root)',
      description: 'Refused: invalid_root, root_invalid, root_expired, root_conflict.',
      tags: ['roots'],
      security: bearer,
      body: envelopeInputSchema,
      response: { 201: { $ref: 'Envelope#' }, ...errorResponses },
    },
  }, async (request, reply) => reply.status(201).send(await roots.publish(request.body)));

  app.get('/roots', {
    schema: {
      operationId: 'listRoots',
      summary: 'The root chain, oldest first (public)',
      tags: ['roots'],
      response: { 200: { type: 'object', required: ['roots'], properties: { roots: { type: 'array', items: { $ref: 'Envelope#' } } } } },
    },
  }, async () => ({ roots: await roots.list() }));

  app.get('/roots/current', {
    schema: { operationId: 'getCurrentRoot', summary: 'The current root (public)', tags: ['roots'], response: { 200: { $ref: 'Envelope#' }, 404: { $ref: 'ApiError#' } } },
  }, async () => {
    const current = await roots.current();
    if (!current) throw new HttpError('not_found', 'no root has been published');
    return current;
  });
};
