// Imported release manifests: reads (by id, by digest, listing), decoded and cached, and the
// write (state/releases: one script enforces unique ids and the per-class increasing sequence).
// Checks of the envelope itself are in import-release.ts.
import type { RedisClient as Redis } from '../../state/redis.js';
import { manifestDigest, type ReleaseEnvelope } from '../../protocol/index.js';
import { lastReleaseSequence, readReleaseFields, releaseIdByDigest, releaseIdsNewestFirst, storeRelease, type StoreReleaseOutcome } from '../../state/releases/index.js';

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

export type StoreOutcome = StoreReleaseOutcome;

export function createReleaseStore(redis: Redis, prefix: string) {
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
    const release = decode(await readReleaseFields(redis, prefix, releaseId));
    if (release) {
      if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
      cache.set(releaseId, release);
    }
    return release;
  };

  return {
    get,
    async getByDigest(digest: string): Promise<StoredRelease | undefined> {
      const releaseId = await releaseIdByDigest(redis, prefix, digest);
      return releaseId ? get(releaseId) : undefined;
    },
    async lastSequence(vendorId: string, classId: string): Promise<number | undefined> {
      return lastReleaseSequence(redis, prefix, vendorId, classId);
    },
    /** Newest first, at most `limit`, optionally one class. */
    async list(filter: { vendorId?: string; classId?: string; limit: number }): Promise<ReleaseSummary[]> {
      const out: ReleaseSummary[] = [];
      const chunk = 200;
      for (let start = 0; out.length < filter.limit; start += chunk) {
        const ids = await releaseIdsNewestFirst(redis, prefix, start, chunk);
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
      const outcome = await storeRelease(redis, prefix, { ...release, envelope: JSON.stringify(envelope) });
      return outcome.ok ? { ok: true, release } : outcome;
    },
  };
}
export type ReleaseStore = ReturnType<typeof createReleaseStore>;
