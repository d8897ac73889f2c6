// Imported release manifests: reads (by id, by digest, listing) and the atomic write that
// enforces unique ids and the per-class increasing sequence. Checks of the envelope itself
// are in import-release.ts.
import type { Redis } from 'ioredis';
import { manifestDigest, type ReleaseEnvelope } from '../../protocol/index.js';
import { luaScript, runLua } from '../registry/lua.js';
import { releaseKeys } from './release-keys.js';

export interface StoredRelease {
  releaseId: string;
  version: string;
  sequence: number;
  vendorId: string;
  classId: string;
  /** docs/protocol.md#release-manifest: hex SHA-256 of the canonical bytes of `signed` (directives name it). */
  digest: string;
  importedAt: string;
  envelope: ReleaseEnvelope;
}

export type ReleaseSummary = Omit<StoredRelease, 'envelope'> & { payload: ReleaseEnvelope['signed']['payload'] };

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

export type StoreOutcome = { ok: true } | { ok: false; code: 'duplicate_release' | 'sequence_not_increasing'; lastSequence?: number };

export function createReleaseStore(redis: Redis, prefix: string) {
  const keys = releaseKeys(prefix);
  // Imported releases never change: cache them (bounded) for the rollout engine's hot path.
  const cache = new Map<string, StoredRelease>();
  const MAX_CACHED = 1000;

  const decode = (fields: Record<string, string>): StoredRelease | undefined => {
    if (!fields.envelope) return undefined;
    return {
      releaseId: fields.releaseId ?? '',
      version: fields.version ?? '',
      sequence: Number(fields.sequence),
      vendorId: fields.vendorId ?? '',
      classId: fields.classId ?? '',
      digest: fields.digest ?? '',
      importedAt: fields.importedAt ?? '',
      envelope: JSON.parse(fields.envelope) as ReleaseEnvelope,
    };
  };

  const get = async (releaseId: string): Promise<StoredRelease | undefined> => {
    const hit = cache.get(releaseId);
    if (hit) return hit;
    const release = decode(await redis.hgetall(keys.release(releaseId)));
    if (release) {
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
      cache.set(releaseId, release);
    }
    return release;
  };

  return {
    get,
    async getByDigest(digest: string): Promise<StoredRelease | undefined> {
      const releaseId = await redis.hget(keys.releaseByDigest, digest);
      return releaseId ? get(releaseId) : undefined;
    },
    async lastSequence(vendorId: string, classId: string): Promise<number | undefined> {
      const text = await redis.hget(keys.lastSequence, `${vendorId}/${classId}`);
      return text === null ? undefined : Number(text);
    },
    /** Newest first, at most `limit`, optionally one class. */
    async list(filter: { vendorId?: string; classId?: string; limit: number }): Promise<ReleaseSummary[]> {
      const out: ReleaseSummary[] = [];
      const chunk = 200;
      for (let start = 0; out.length < filter.limit; start += chunk) {
        const ids = await redis.zrevrange(keys.releaseIndex, start, start + chunk - 1);
        if (ids.length === 0) break;
        for (const id of ids) {
          const release = await get(id);
          if (!release) continue;
          if (filter.vendorId !== undefined && release.vendorId !== filter.vendorId) continue;
          if (filter.classId !== undefined && release.classId !== filter.classId) continue;
          const { envelope, ...summary } = release;
          out.push({ ...summary, payload: envelope.signed.payload });
          if (out.length === filter.limit) break;
        }
        if (ids.length < chunk) break;
      }
      return out;
    },
    /** Stores a checked envelope unless the id exists or the class's sequence would not increase. */
    async store(envelope: ReleaseEnvelope, importedAt: Date): Promise<StoreOutcome & { release?: StoredRelease }> {
      const s = envelope.signed;
      const release: StoredRelease = {
        releaseId: s.releaseId,
        version: s.version,
        sequence: s.sequence,
        vendorId: s.vendorId,
        classId: s.classId,
        digest: manifestDigest(envelope),
        importedAt: importedAt.toISOString(),
        envelope,
      };
      const fields = [
        'releaseId', release.releaseId, 'version', release.version, 'sequence', String(release.sequence),
        'vendorId', release.vendorId, 'classId', release.classId, 'digest', release.digest,
        'importedAt', release.importedAt, 'envelope', JSON.stringify(envelope),
      ];
      const reply = (await runLua(
        redis,
        STORE,
        [keys.release(s.releaseId), keys.releaseIndex, keys.releaseByDigest, keys.lastSequence],
        [s.releaseId, `${s.vendorId}/${s.classId}`, String(s.sequence), release.digest, String(importedAt.getTime()), ...fields],
      )) as [string, string];
      if (reply[0] === 'ok') return { ok: true, release };
      if (reply[0] === 'duplicate_release') return { ok: false, code: 'duplicate_release' };
      return { ok: false, code: 'sequence_not_increasing', lastSequence: Number(reply[1]) };
    },
  };
}

export type ReleaseStore = ReturnType<typeof createReleaseStore>;
