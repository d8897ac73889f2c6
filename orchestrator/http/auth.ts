// Bearer-token authorization hooks (auth/tokens.ts stores the hashes). A missing or unknown
// token is 401 `unauthorized`; a read-only token on a write is 403 `forbidden`.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RedisClient as Redis } from '../../state/redis.js';
import { lookupToken, roleAllows, type ApiRole } from '../auth/tokens.js';
import { HttpError } from './errors.js';

export type RoleHook = ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) & { readonly requiredRole: ApiRole };

/** The role a route's onRequest / preHandler hooks require, if any (the OpenAPI document reads it). */
export function requiredRoleOf(hooks: unknown): ApiRole | undefined {
  const list = Array.isArray(hooks) ? hooks : [hooks];
  for (const hook of list) {
    const role = (hook as Partial<RoleHook> | undefined)?.requiredRole;
    if (role) return role;
  }
  return undefined;
}

/** RFC 6750 §2.1: `Authorization: Bearer <token>`. */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** A hook usable as onRequest (before the body is read: preferred) or preHandler. */
export function roleHook(redis: Redis, prefix: string, required: ApiRole, now: () => Date = () => new Date()): RoleHook {
  const hook = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const token = bearerToken(request.headers.authorization);
    const record = token ? await lookupToken(redis, prefix, token, now()) : undefined;
    if (!record) {
      // RFC 6750 §3: a 401 names the scheme.
      void reply.header('www-authenticate', 'Bearer realm="fleet-ota"');
      throw new HttpError('unauthorized', token ? 'unknown, expired or revoked token' : 'missing bearer token');
    }
    if (!roleAllows(record.role, required)) throw new HttpError('forbidden', `this route needs the ${required} role`);
    request.auth = { role: record.role, tokenId: record.id, ...(record.label ? { label: record.label } : {}) };
  };
  // Marked, so the OpenAPI document states the security a route really enforces.
  return Object.assign(hook, { requiredRole: required });
}
