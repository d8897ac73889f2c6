// GET /v1/whoami: the role of the presented token (the dashboard shows operator actions only
// to an operator token).
import type { FastifyPluginAsync } from 'fastify';
import { roleAllows } from '../../auth/tokens.js';
import type { RouteOptions } from '../app.js';
import { errorResponses } from '../schemas.js';

const whoamiSchema = {
  type: 'object',
  required: ['role', 'operator'],
  properties: { role: { type: 'string', enum: ['operator', 'read'] }, operator: { type: 'boolean', description: 'the token may run writes and rollout actions' } },
} as const;

export const whoamiRoutes: FastifyPluginAsync<RouteOptions> = async (app) => {
  app.get('/whoami', {
    onRequest: app.requireRole('read'),
    schema: { operationId: 'whoami', tags: ['auth'], summary: 'The role of the presented token', response: { 200: whoamiSchema, ...errorResponses } },
  }, async (request) => ({
    role: request.auth?.role,
    operator: request.auth ? roleAllows(request.auth.role, 'operator') : false,
  }));
};
