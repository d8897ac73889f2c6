// Key names of imported releases and published root documents. A release import writes four
// keys in one script and a root publish two: each family shares a hash tag (one Redis Cluster
// slot), `releases` and `roots`.
import { slotKey } from '../keys.js';

export function releaseKeys(prefix: string) {
  return {
    /** Hash per release: envelope (JSON), digest, version, sequence, vendorId, classId, importedAt. */
    release: (releaseId: string) => slotKey(prefix, 'releases', 'release', releaseId),
    /** Sorted set of release ids, score = import time (ms). */
    releaseIndex: slotKey(prefix, 'releases', 'index'),
    /** Hash manifest digest -> release id (directives name releases by digest). */
    releaseByDigest: slotKey(prefix, 'releases', 'by-digest'),
    /** Hash `vendorId/classId` -> highest imported sequence (docs/protocol.md#release-manifest: monotonic per class). */
    lastSequence: slotKey(prefix, 'releases', 'last-sequence'),
  } as const;
}

export function rootKeys(prefix: string) {
  return {
    /** Hash root version -> root envelope (JSON). */
    roots: slotKey(prefix, 'roots', 'versions'),
    /** String: the current (newest) root version. */
    rootCurrent: slotKey(prefix, 'roots', 'current'),
  } as const;
}
