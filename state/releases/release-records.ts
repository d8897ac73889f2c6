// Stored releases: the atomic write that enforces unique ids and the per-class increasing
// sequence, and the reads (by id, by digest, newest first, last sequence). The hash fields are
// strings; the orchestrator's release store decodes and caches them. No envelope checks here.
import type { RedisClient as Redis } from '../redis.js';
import { luaScript, runLua } from '../lua.js';
import { releaseKeys } from './keys.js';

/** A release as written: the fields the orchestrator stores (`envelope` is its JSON text). */
export interface ReleaseFields {
  releaseId: string;
  version: string;
  sequence: number;
  vendorId: string;
  classId: string;
  digest: string;
  importedAt: string;
  envelope: string;
}

// KEYS: release hash, index, by-digest, last-sequence. ARGV: id, class field, sequence, digest,
// score, then hash fields (name, value)... Returns {'ok'} or {code, detail}.
const STORE = luaScript('store-release', `
if redis.call('EXISTS', KEYS[1]) == 1 then return {'duplicate_release', ''} end
local last = redis.call('HGET', KEYS[4], ARGV[2])
if last and tonumber(last) >= tonumber(ARGV[3]) then return {'sequence_not_increasing', last} end
redis.call('HSET', KEYS[1], unpack(ARGV, 6, #ARGV))
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])
return {'ok', ''}
`);

export type StoreReleaseOutcome = { ok: true } | { ok: false; code: 'duplicate_release' | 'sequence_not_increasing'; lastSequence?: number };

/** Stores a release unless its id exists or its class's sequence would not increase. */
export async function storeRelease(redis: Redis, prefix: string, release: ReleaseFields): Promise<StoreReleaseOutcome> {
  const keys = releaseKeys(prefix);
  const fields = [
    'releaseId', release.releaseId, 'version', release.version, 'sequence', String(release.sequence),
    'vendorId', release.vendorId, 'classId', release.classId, 'digest', release.digest,
    'importedAt', release.importedAt, 'envelope', release.envelope,
  ];
  const reply = (await runLua(
    redis,
    STORE,
    [keys.release(release.releaseId), keys.releaseIndex, keys.releaseByDigest, keys.lastSequence],
    [release.releaseId, `${release.vendorId}/${release.classId}`, String(release.sequence), release.digest, String(Date.parse(release.importedAt)), ...fields],
  )) as [string, string];
  if (reply[0] === 'ok') return { ok: true };
  if (reply[0] === 'duplicate_release') return { ok: false, code: 'duplicate_release' };
  return { ok: false, code: 'sequence_not_increasing', lastSequence: Number(reply[1]) };
}

/** The stored fields of a release (empty when unknown). */
export async function readReleaseFields(redis: Redis, prefix: string, releaseId: string): Promise<Record<string, string>> {
  return redis.hgetall(releaseKeys(prefix).release(releaseId));
}

export async function releaseIdByDigest(redis: Redis, prefix: string, digest: string): Promise<string | undefined> {
  return (await redis.hget(releaseKeys(prefix).releaseByDigest, digest)) ?? undefined;
}

/** The highest sequence imported for a class (undefined: none yet). */
export async function lastReleaseSequence(redis: Redis, prefix: string, vendorId: string, classId: string): Promise<number | undefined> {
  const text = await redis.hget(releaseKeys(prefix).lastSequence, `${vendorId}/${classId}`);
  return text === null ? undefined : Number(text);
}

/** Release ids newest first, `count` from position `start` of that order. */
export async function releaseIdsNewestFirst(redis: Redis, prefix: string, start: number, count: number): Promise<string[]> {
  return redis.zrevrange(releaseKeys(prefix).releaseIndex, start, start + count - 1);
}
