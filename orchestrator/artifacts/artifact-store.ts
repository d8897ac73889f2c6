// The artifact storage interface: content-addressed by SHA-256, written from a stream and read
// back by byte range. The embedded filesystem store (fs-store.ts) is the default adapter.
import type { Readable } from 'node:stream';

export interface StoredArtifact {
  sha256: string;
  size: number;
}

export interface ArtifactStore {
  /** Creates directories and clears leftovers of interrupted uploads. */
  init(): Promise<void>;
  /**
   * Stores `source`, hashing and counting as it streams. Throws ArtifactError `too_large` past
   * `maxBytes`; on any failure (limit, aborted source, disk) nothing is left behind.
   */
  put(source: Readable, options: { maxBytes: number }): Promise<StoredArtifact & { created: boolean }>;
  stat(sha256: string): Promise<StoredArtifact | undefined>;
  /** Bytes start..end inclusive (the whole artifact when no range is given). */
  read(sha256: string, range?: { start: number; end: number }): Readable;
}

/** Lowercase hex SHA-256: the only artifact names the store accepts (no path tricks). */
export const ARTIFACT_ID = /^[0-9a-f]{64}$/;
