// The shared-directory artifact store: `<dataDir>/artifacts/<aa>/<sha256>`. An upload streams to
// a temp file in `<dataDir>/tmp` while it is hashed, is flushed to disk, and only then renamed
// into place (same filesystem: atomic), so no reader, in this process or in another orchestrator
// on the same mount, ever sees a partial artifact. Content addressing makes concurrent uploads of
// the same bytes harmless (the same name, the same bytes) and lets every orchestrator of a
// deployment serve what any of them stored (README: artifacts with several orchestrators).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ArtifactError } from './errors.js';
import { ARTIFACT_ID, type ArtifactStore, type StoredArtifact } from './artifact-store.js';

/** Temp files older than this at start-up belong to an upload that died with its process. */
const STALE_TEMP_MS = 60 * 60 * 1000;

export function createFsArtifactStore(dataDir: string): ArtifactStore {
  const artifactsDir = join(dataDir, 'artifacts');
  const tmpDir = join(dataDir, 'tmp');
  const pathOf = (sha256: string) => {
    if (!ARTIFACT_ID.test(sha256)) throw new ArtifactError('invalid_artifact_id', 'artifact id is a lowercase hex SHA-256');
    return join(artifactsDir, sha256.slice(0, 2), sha256);
  };

  return {
    async init() {
      await mkdir(artifactsDir, { recursive: true, mode: 0o750 });
      await mkdir(tmpDir, { recursive: true, mode: 0o750 });
      const cutoff = Date.now() - STALE_TEMP_MS;
      for (const name of await readdir(tmpDir)) {
        const path = join(tmpDir, name);
        const info = await stat(path).catch(() => undefined);
        if (info && info.mtimeMs < cutoff) await rm(path, { force: true });
      }
    },

    async put(source, { maxBytes }) {
      await mkdir(tmpDir, { recursive: true, mode: 0o750 });
      const temp = join(tmpDir, `${randomBytes(12).toString('hex')}.part`);
      const hash = createHash('sha256');
      let size = 0;
      // Iterated without destroying the source on early exit: after a refusal the caller can
      // still drain the request and answer 413 instead of resetting the connection.
      const chunks = typeof source.iterator === 'function' ? source.iterator({ destroyOnReturn: false }) : source;
      async function* metered() {
        for await (const chunk of chunks as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > maxBytes) throw new ArtifactError('too_large', `artifact exceeds ${maxBytes} bytes`);
          hash.update(chunk);
          yield chunk;
        }
      }
      try {
        // flush: fsync before close, so the bytes are on disk before the file gets its name:
        // after a crash of this host, the other orchestrators on the mount find either no
        // artifact or the whole one, never a truncated one.
        await pipeline(metered, createWriteStream(temp, { flags: 'wx', mode: 0o640, flush: true }));
        const sha256 = hash.digest('hex');
        const target = pathOf(sha256);
        const existing = await stat(target).catch(() => undefined);
        if (existing) {
          await rm(temp, { force: true });
          return { sha256, size, created: false };
        }
        await mkdir(join(artifactsDir, sha256.slice(0, 2)), { recursive: true, mode: 0o750 });
        await rename(temp, target);
        return { sha256, size, created: true };
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
    },

    async stat(sha256): Promise<StoredArtifact | undefined> {
      if (!ARTIFACT_ID.test(sha256)) return undefined;
      const info = await stat(pathOf(sha256)).catch(() => undefined);
      return info?.isFile() ? { sha256, size: info.size } : undefined;
    },

    read(sha256, range): Readable {
      return createReadStream(pathOf(sha256), range ? { start: range.start, end: range.end } : {});
    },
  };
}
