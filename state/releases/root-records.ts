// Published root documents: a compare-and-set publish (two publishers racing on one version
// cannot both win) and reads by version. The orchestrator's root store verifies the chain
// before it publishes; nothing here parses an envelope.
import type { RedisClient as Redis } from '../redis.js';
import { luaScript, runLua } from '../lua.js';
import { rootKeys } from './keys.js';

// KEYS: roots hash, current version. ARGV: expected current ('0': none), new version, envelope.
const PUBLISH = luaScript('publish-root', `
local current = redis.call('GET', KEYS[2]) or '0'
if current ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SET', KEYS[2], ARGV[2])
return 1
`);

/** Stores `envelopeJson` as `version` if the current version is still `expected` (0: none). */
export async function publishRootVersion(redis: Redis, prefix: string, expected: number, version: number, envelopeJson: string): Promise<boolean> {
  const keys = rootKeys(prefix);
  return (await runLua(redis, PUBLISH, [keys.roots, keys.rootCurrent], [String(expected), String(version), envelopeJson])) === 1;
}

/** The current root version (0: none published). */
export async function currentRootVersion(redis: Redis, prefix: string): Promise<number> {
  return Number((await redis.get(rootKeys(prefix).rootCurrent)) ?? 0);
}

/** The envelope JSON of each version, in order (null: not published). */
export async function readRootVersions(redis: Redis, prefix: string, versions: readonly number[]): Promise<Array<string | null>> {
  if (versions.length === 0) return [];
  return redis.hmget(rootKeys(prefix).roots, ...versions.map(String));
}

/** Every published version, ascending. */
export async function rootVersions(redis: Redis, prefix: string): Promise<number[]> {
  return (await redis.hkeys(rootKeys(prefix).roots)).map(Number).sort((a, b) => a - b);
}
