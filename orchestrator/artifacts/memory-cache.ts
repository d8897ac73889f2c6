// Small artifacts served from memory: a rollout downloads the same image once per device, and
// content addressing means a stored artifact never changes, so its bytes can be kept after the
// first read. Large artifacts, and anything past the memory budget, stream from the store.
import { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import type { ArtifactStore, StoredArtifact } from './artifact-store.js';

export interface ArtifactCacheLimits {
  /** Artifacts up to this size are kept in memory. */
  maxArtifactBytes: number;
  /** Memory for all kept artifacts; the least recently read go first. */
  maxTotalBytes: number;
}

export const DEFAULT_ARTIFACT_CACHE_LIMITS: ArtifactCacheLimits = { maxArtifactBytes: 1024 * 1024, maxTotalBytes: 64 * 1024 * 1024 };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

export function withArtifactCache(store: ArtifactStore, limits: ArtifactCacheLimits = DEFAULT_ARTIFACT_CACHE_LIMITS): ArtifactStore {
  const stats = new Map<string, StoredArtifact>();
  // Bounded by bytes (lru-cache's maxSize): an artifact larger than the whole budget is not kept.
  // lru-cache sizes must be positive, so an empty artifact counts one byte.
  const bytes = new LRUCache<string, Buffer>({ maxSize: limits.maxTotalBytes, sizeCalculation: (data) => Math.max(1, data.length) });
  const loading = new Set<string>();

  return {
    init: () => store.init(),
    put: (source, options) => store.put(source, options),
    async stat(sha256) {
      const known = stats.get(sha256);
      if (known) return known;
      const info = await store.stat(sha256);
      // Only found artifacts are remembered: an upload may add one later.
      if (info) stats.set(sha256, info);
      return info;
    },
    read(sha256, range) {
      const data = bytes.get(sha256);
      if (data) return Readable.from([range ? data.subarray(range.start, range.end + 1) : data]);
      const info = stats.get(sha256);
      if (info && info.size <= limits.maxArtifactBytes && !loading.has(sha256)) {
        loading.add(sha256);
        readAll(store.read(sha256)).then(
          (loaded) => {
            if (loaded.length === info.size) bytes.set(sha256, loaded);
          },
          () => undefined,
        ).finally(() => loading.delete(sha256));
      }
      return store.read(sha256, range);
    },
  };
}
