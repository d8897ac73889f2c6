// Runs a Lua script by SHA (EVALSHA), loading it once on NOSCRIPT. Every multi-key state change
// in state/ is one script (atomic on the Redis side) that declares every key it touches in KEYS:
// Redis Cluster routes a script by its keys, and refuses one whose keys span slots.
import { createHash } from 'node:crypto';
import type { RedisClient as Redis } from './redis.js';

export interface LuaScript {
  readonly name: string;
  readonly source: string;
  readonly sha: string;
}

export function luaScript(name: string, source: string): LuaScript {
  return { name, source, sha: createHash('sha1').update(source).digest('hex') };
}

export async function runLua(redis: Redis, script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
