// Release routes: import a manifest signed offline, list, show (with its manifest digest).
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { idOf } from '../audit-hook.js';
import { notFound } from '../errors.js';
import { bearer, envelopeInputSchema, errorResponses, releaseListQuery, releaseParams, releaseSchema, releaseSummarySchema } from '../schemas.js';

export const releaseRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  const { releases } = app.services;

  app.post('/releases', {
    onRequest: app.requireRole('operator'),
    config: { audit: { action: 'release.import', target: (_request, body) => idOf(body, 'releaseId') } },
    schema: {
      operationId: 'importRelease',
      summary: 'Import a release manifest signed offline by release keys',
      description: 'Refused: release_signature (threshold of the current root not met), no_root, artifact_missing, artifact_mismatch, release_expired, duplicate_release, sequence_not_increasing.',
      tags: ['releases'],
      security: bearer,
      body: envelopeInputSchema,
      response: { 201: releaseSchema, ...errorResponses },
    },
  }, async (request, reply) => reply.status(201).send(await releases.import(request.body)));

  app.get<{ Querystring: { vendorId?: string; classId?: string; limit?: number } }>('/releases', {
    onRequest: app.requireRole('read'),
    schema: {
      operationId: 'listReleases',
      summary: 'List releases, newest first',
      tags: ['releases'],
      security: bearer,
      querystring: releaseListQuery,
      response: { 200: { type: 'object', required: ['releases'], properties: { releases: { type: 'array', items: releaseSummarySchema } } }, ...errorResponses },
    },
  }, async (request) => {
    const { vendorId, classId, limit } = request.query;
    return { releases: await releases.list({ ...(vendorId ? { vendorId } : {}), ...(classId ? { classId } : {}), limit: limit ?? 100 }) };
  });

  app.get<{ Params: { id: string } }>('/releases/:id', {
    onRequest: app.requireRole('read'),
    schema: { operationId: 'getRelease', summary: 'Show a release: envelope and manifest digest', tags: ['releases'], security: bearer, params: releaseParams, response: { 200: releaseSchema, ...errorResponses } },
  }, async (request) => {
    const release = await releases.get(request.params.id);
    if (!release) throw notFound('release', request.params.id);
    return release;
  });
};
