// API token records in Redis: one hash, SHA-256 of the token -> record JSON. Only hashes are
// stored (orchestrator/auth/tokens.ts makes and checks tokens); nothing here sees a token.
import type { RedisClient as Redis } from '../redis.js';

export function tokenKeys(prefix: string) {
  return { tokens: `${prefix}auth:tokens` } as const;
}

export async function writeTokenRecord(redis: Redis, prefix: string, hash: string, json: string): Promise<void> {
  await redis.hset(tokenKeys(prefix).tokens, hash, json);
}

/** The record JSON stored for `hash` (null: none). */
export async function readTokenRecord(redis: Redis, prefix: string, hash: string): Promise<string | null> {
  return redis.hget(tokenKeys(prefix).tokens, hash);
}

/** Every stored record JSON by hash. */
export async function readAllTokenRecords(redis: Redis, prefix: string): Promise<Record<string, string>> {
  return redis.hgetall(tokenKeys(prefix).tokens);
}
