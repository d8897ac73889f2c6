// API bearer tokens: only their SHA-256 is stored (a Redis hash, hash -> role), so a Redis dump
// does not hand out access. Issues, looks up and revokes tokens; it never logs one.
import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

export const ROLES = ['operator', 'read'] as const;
export type ApiRole = (typeof ROLES)[number];

export interface TokenRecord {
  role: ApiRole;
  createdAt: string;
  label?: string;
}

/** Longest Authorization value looked up at all: anything longer cannot be one of ours. */
export const MAX_TOKEN_CHARS = 256;
const TOKEN_PREFIX = 'fota_';

export function tokenKeys(prefix: string) {
  return { tokens: `${prefix}auth:tokens` } as const;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** 'operator' implies 'read'. */
export function roleAllows(granted: ApiRole, required: ApiRole): boolean {
  return granted === 'operator' || required === 'read';
}

function isRole(value: unknown): value is ApiRole {
  return value === 'operator' || value === 'read';
}

/** Creates a random token, stores its hash with the role and returns the token (shown once). */
export async function createToken(redis: Redis, prefix: string, role: ApiRole, label?: string, now = new Date()): Promise<{ token: string; hash: string }> {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const hash = await storeToken(redis, prefix, token, role, label, now);
  return { token, hash };
}

/** Stores a caller-chosen token (the bootstrap tokens from the environment). */
export async function storeToken(redis: Redis, prefix: string, token: string, role: ApiRole, label?: string, now = new Date()): Promise<string> {
  const hash = hashToken(token);
  const record: TokenRecord = { role, createdAt: now.toISOString(), ...(label ? { label } : {}) };
  await redis.hset(tokenKeys(prefix).tokens, hash, JSON.stringify(record));
  return hash;
}

/** The role a presented token grants, or undefined. */
export async function lookupToken(redis: Redis, prefix: string, token: string): Promise<TokenRecord | undefined> {
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined;
  const raw = await redis.hget(tokenKeys(prefix).tokens, hashToken(token));
  if (raw === null) return undefined;
  try {
    const record = JSON.parse(raw) as TokenRecord;
    return isRole(record.role) ? record : undefined;
  } catch {
    return undefined;
  }
}

export async function revokeToken(redis: Redis, prefix: string, hash: string): Promise<boolean> {
  return (await redis.hdel(tokenKeys(prefix).tokens, hash)) === 1;
}

export async function listTokens(redis: Redis, prefix: string): Promise<Array<TokenRecord & { hash: string }>> {
  const all = await redis.hgetall(tokenKeys(prefix).tokens);
  return Object.entries(all).flatMap(([hash, raw]) => {
    try {
      const record = JSON.parse(raw) as TokenRecord;
      return isRole(record.role) ? [{ hash, ...record }] : [];
    } catch {
      return [];
    }
  });
}

/** FLEET_OPERATOR_TOKEN / FLEET_READONLY_TOKEN: stored hashed at boot so they work like issued tokens. */
export async function storeBootstrapTokens(redis: Redis, prefix: string, tokens: { operator?: string | undefined; read?: string | undefined }): Promise<void> {
  if (tokens.operator) await storeToken(redis, prefix, tokens.operator, 'operator', 'bootstrap (FLEET_OPERATOR_TOKEN)');
  if (tokens.read) await storeToken(redis, prefix, tokens.read, 'read', 'bootstrap (FLEET_READONLY_TOKEN)');
}
