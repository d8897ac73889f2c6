// GET /v1/audit: the operator actions, newest first, paged by stream id, filtered by action or
// target. Read role: entries name tokens by id and label only, and a read-only console shows who
// paused what as it shows the pause itself.
import type { FastifyPluginAsync } from 'fastify';
import { AUDIT_ACTIONS, AUDIT_PAGE_MAX, AuditLog } from '../../audit/audit-log.js';
import type { RouteOptions } from '../app.js';
import { bearer, errorResponses } from '../schemas.js';

const auditEntrySchema = {
  $id: 'AuditEntry',
  type: 'object',
  required: ['id', 'at', 'actor', 'action', 'target'],
  properties: {
    id: { type: 'string', description: 'Stream id (time-ordered; the paging cursor)' },
    at: { type: 'string', format: 'date-time' },
    actor: {
      type: 'object',
      required: ['via'],
      properties: {
        via: { type: 'string', enum: ['api', 'cli'] },
        tokenId: { type: 'string', description: 'First 12 hex characters of the token hash' },
        label: { type: 'string' },
        role: { type: 'string', enum: ['operator', 'read'] },
      },
    },
    action: { type: 'string', enum: [...AUDIT_ACTIONS] },
    target: { type: 'string' },
    reason: { type: 'string' },
    detail: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean'] } },
  },
} as const;

interface AuditQuerystring {
  limit: number;
  before?: string;
  action?: string;
  target?: string;
}

export const auditRoutes: FastifyPluginAsync<RouteOptions> = async (app, { redis, keyPrefix }) => {
  const log = new AuditLog(redis, keyPrefix);
  app.addSchema(auditEntrySchema);
  app.get<{ Querystring: AuditQuerystring }>('/audit', {
    onRequest: app.requireRole('read'),
    schema: {
      operationId: 'listAudit',
      summary: 'Operator actions, newest first (actor, time, action, target, reason)',
      tags: ['audit'],
      security: bearer,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          limit: { type: 'integer', minimum: 1, maximum: AUDIT_PAGE_MAX, default: 50 },
          before: { type: 'string', pattern: '^[0-9]{1,20}-[0-9]{1,20}$', description: 'The previous page\'s next' },
          action: { type: 'string', enum: [...AUDIT_ACTIONS] },
          target: { type: 'string', minLength: 1, maxLength: 128 },
        },
      },
      response: {
        200: {
          type: 'object',
          required: ['entries'],
          properties: { entries: { type: 'array', items: { $ref: 'AuditEntry#' } }, next: { type: 'string' } },
        },
        ...errorResponses,
      },
    },
  }, async (request) => log.list(request.query));
};
