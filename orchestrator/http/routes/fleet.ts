// GET /v1/fleet/summary: devices by class, installed release (with its version), presence and
// revocation, for dashboards. The registry computes it in one cached pass.
import type { FastifyPluginAsync } from 'fastify';
import type { RouteOptions } from '../app.js';
import { bearer, errorResponses, summarySchema } from '../schemas.js';

export const fleetRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  app.get('/fleet/summary', {
    onRequest: app.requireRole('read'),
    schema: { operationId: 'getFleetSummary', summary: 'Fleet summary', tags: ['fleet'], security: bearer, response: { 200: summarySchema, ...errorResponses } },
  }, async () => {
    const summary = await app.services.registry.summary();
    const byInstalledRelease = await Promise.all(summary.byInstalledRelease.map(async (entry) => {
      const release = entry.releaseId ? await app.services.releases.get(entry.releaseId) : undefined;
      return { ...entry, version: release?.version ?? null, sequence: release?.sequence ?? null };
    }));
    return { ...summary, byInstalledRelease };
  });
};
