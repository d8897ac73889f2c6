// API bearer tokens: only their SHA-256 is stored (a Redis hash, hash -> record), so a Redis dump
// does not hand out access. A token is named (label), has a role, may expire, and is revoked by
// marking it (the record stays, so audit entries keep a name). It never logs or lists a secret.
import { createHash, randomBytes } from 'node:crypto';
import type { RedisClient as Redis } from '../../state/redis.js';
import { readAllTokenRecords, readTokenRecord, writeTokenRecord } from '../../state/auth/token-records.js';
import { FleetError } from '../../runtime/errors.js';

export const ROLES = ['operator', 'read'] as const;
export type ApiRole = (typeof ROLES)[number];

export interface TokenRecord {
  role: ApiRole;
  createdAt: string;
  label?: string;
  /** ISO time after which the token is refused. */
  expiresAt?: string;
  /** ISO time it was revoked; a revoked token is refused but still listed. */
  revokedAt?: string;
}

/** What the API and the audit log call a token: the first characters of its hash (never the token). */
export const TOKEN_ID_CHARS = 12;
export function tokenId(hash: string): string {
  return hash.slice(0, TOKEN_ID_CHARS);
}

/** Longest label kept (labels name who or what uses a token). */
export const MAX_TOKEN_LABEL_CHARS = 64;

/** A token that cannot be created (bad label or expiry) or found by its hash prefix (runtime/errors.ts family). */
export class TokenError extends FleetError<'bad_label' | 'bad_expiry' | 'not_found' | 'ambiguous'> {}

export interface CreateTokenOptions {
  label?: string | undefined;
  expiresAt?: Date | undefined;
  now?: Date | undefined;
}

/** Longest Authorization value looked up at all: anything longer cannot be one of ours. */
export const MAX_TOKEN_CHARS = 256;
const TOKEN_PREFIX = 'fota_';

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
export async function createToken(redis: Redis, prefix: string, role: ApiRole, options: CreateTokenOptions = {}): Promise<{ token: string; hash: string; id: string; record: TokenRecord }> {
  const now = options.now ?? new Date();
  if (options.label !== undefined && (options.label.length === 0 || options.label.length > MAX_TOKEN_LABEL_CHARS || !/^[\p{L}\p{N}\p{P}\p{S} ]+$/u.test(options.label))) {
    throw new TokenError('bad_label', `a label is 1-${MAX_TOKEN_LABEL_CHARS} printable characters`);
  }
  if (options.expiresAt !== undefined && !(options.expiresAt.getTime() > now.getTime())) throw new TokenError('bad_expiry', 'the expiry must be in the future');
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const record = tokenRecord(role, now, options.label, options.expiresAt);
  const hash = hashToken(token);
  await writeTokenRecord(redis, prefix, hash, JSON.stringify(record));
  return { token, hash, id: tokenId(hash), record };
}

function tokenRecord(role: ApiRole, now: Date, label?: string, expiresAt?: Date): TokenRecord {
  return { role, createdAt: now.toISOString(), ...(label ? { label } : {}), ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) };
}

/** Stores a caller-chosen token (the bootstrap tokens from the environment). */
export async function storeToken(redis: Redis, prefix: string, token: string, role: ApiRole, label?: string, now = new Date()): Promise<string> {
  const hash = hashToken(token);
  await writeTokenRecord(redis, prefix, hash, JSON.stringify(tokenRecord(role, now, label)));
  return hash;
}

/** The record of a presented token that is neither revoked nor expired at `now`, with its id; or undefined. */
export async function lookupToken(redis: Redis, prefix: string, token: string, now = new Date()): Promise<(TokenRecord & { id: string }) | undefined> {
  if (token.length === 0 || token.length > MAX_TOKEN_CHARS) return undefined;
  const hash = hashToken(token);
  const record = parseRecord(await readTokenRecord(redis, prefix, hash));
  if (!record || record.revokedAt) return undefined;
  if (record.expiresAt && !(Date.parse(record.expiresAt) > now.getTime())) return undefined;
  return { ...record, id: tokenId(hash) };
}

function parseRecord(raw: string | null): TokenRecord | undefined {
  if (raw === null) return undefined;
  try {
    const record = JSON.parse(raw) as TokenRecord;
    return isRole(record.role) ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Marks the token revoked (idempotent: the first revocation time stays). False when unknown. */
export async function revokeToken(redis: Redis, prefix: string, hash: string, now = new Date()): Promise<boolean> {
  const record = parseRecord(await readTokenRecord(redis, prefix, hash));
  if (!record) return false;
  if (!record.revokedAt) await writeTokenRecord(redis, prefix, hash, JSON.stringify({ ...record, revokedAt: now.toISOString() }));
  return true;
}

/** The one token whose hash starts with `hashPrefix` (an id or longer). */
export async function findToken(redis: Redis, prefix: string, hashPrefix: string): Promise<TokenRecord & { hash: string; id: string }> {
  const matches = (await listTokens(redis, prefix)).filter((t) => t.hash.startsWith(hashPrefix));
  if (matches.length !== 1) throw new TokenError(matches.length === 0 ? 'not_found' : 'ambiguous', `${matches.length} tokens match ${hashPrefix}`);
  return matches[0]!;
}

/** Every token record (revoked and expired ones included), oldest first; hashes only, never a token. */
export async function listTokens(redis: Redis, prefix: string): Promise<Array<TokenRecord & { hash: string; id: string }>> {
  const all = await readAllTokenRecords(redis, prefix);
  return Object.entries(all)
    .flatMap(([hash, raw]) => {
      const record = parseRecord(raw);
      return record ? [{ id: tokenId(hash), hash, ...record }] : [];
    })
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.hash.localeCompare(b.hash));
}

/** FLEET_OPERATOR_TOKEN / FLEET_READONLY_TOKEN: stored hashed at boot so they work like issued tokens. */
export async function storeBootstrapTokens(redis: Redis, prefix: string, tokens: { operator?: string | undefined; read?: string | undefined }): Promise<void> {
  if (tokens.operator) await storeToken(redis, prefix, tokens.operator, 'operator', 'bootstrap (FLEET_OPERATOR_TOKEN)');
  if (tokens.read) await storeToken(redis, prefix, tokens.read, 'read', 'bootstrap (FLEET_READONLY_TOKEN)');
}
