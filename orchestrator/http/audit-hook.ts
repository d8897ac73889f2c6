// Records operator actions in the audit log from one onSend hook: a route opts in with
// `config: { audit: { action, target? } }`, and a successful reply (status < 400) becomes one
// entry naming the caller's token (id and label, never the token), the target and the reason.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditAction, AuditLog } from '../audit/audit-log.js';

export interface AuditRouteConfig {
  action: AuditAction;
  /** The target from the request and the reply body (parsed JSON); default: the `:id` parameter. */
  target?: (request: FastifyRequest, body: unknown) => string | undefined;
  /** Small facts from the reply body worth keeping (counts, a version). */
  detail?: (body: unknown) => Record<string, string | number | boolean> | undefined;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    audit?: AuditRouteConfig;
  }
}

/** Audit targets from reply bodies: the created thing's `id` (or another id field), a root's version. */
export function idOf(body: unknown, field = 'id'): string | undefined {
  const id = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[field] : undefined;
  return typeof id === 'string' ? id : undefined;
}

export function rootTarget(body: unknown): string | undefined {
  const version = (body as { signed?: { version?: unknown } } | undefined)?.signed?.version;
  return typeof version === 'number' ? `root v${version}` : undefined;
}

/** The named numeric fields of a reply body. */
export function counts(body: unknown, fields: string[]): Record<string, number> | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const out: Record<string, number> = {};
  for (const field of fields) {
    const value = (body as Record<string, unknown>)[field];
    if (typeof value === 'number') out[field] = value;
  }
  return out;
}

function reasonOf(body: unknown): string | undefined {
  const reason = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as { reason?: unknown }).reason : undefined;
  return typeof reason === 'string' && reason.length > 0 ? reason : undefined;
}

function parsePayload(payload: unknown): unknown {
  if (typeof payload !== 'string' && !Buffer.isBuffer(payload)) return undefined;
  try {
    return JSON.parse(payload.toString());
  } catch {
    return undefined;
  }
}

export function registerAuditHook(app: FastifyInstance, audit: AuditLog, now: () => Date): void {
  app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    const spec = request.routeOptions.config.audit;
    if (!spec || reply.statusCode >= 400 || !request.auth) return payload;
    const body = parsePayload(payload);
    const target = spec.target ? spec.target(request, body) : (request.params as { id?: string } | undefined)?.id;
    const detail = spec.detail?.(body);
    try {
      await audit.record({
        actor: { via: 'api', role: request.auth.role, ...(request.auth.tokenId ? { tokenId: request.auth.tokenId } : {}), ...(request.auth.label ? { label: request.auth.label } : {}) },
        action: spec.action,
        target: target ?? '',
        ...(reasonOf(request.body) ? { reason: reasonOf(request.body) } : {}),
        ...(detail ? { detail } : {}),
      }, now());
    } catch (error) {
      // The action already happened; a lost entry is logged loudly rather than turning it into a 500.
      request.log.error({ err: (error as Error).message, action: spec.action, target }, 'audit entry not recorded');
    }
    return payload;
  });
}
