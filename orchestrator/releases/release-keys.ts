// Redis layout of releases and root documents. One place defines the key names.

export function releaseKeys(prefix: string) {
  return {
    /** Hash per release: envelope (JSON), digest, version, sequence, vendorId, classId, importedAt. */
    release: (releaseId: string) => `${prefix}release:${releaseId}`,
    /** Sorted set of release ids, score = import time (ms). */
    releaseIndex: `${prefix}releases`,
    /** Hash manifest digest -> release id (directives name releases by digest). */
    releaseByDigest: `${prefix}releases:by-digest`,
    /** Hash `vendorId/classId` -> highest imported sequence (docs/protocol.md#release-manifest: monotonic per class). */
    lastSequence: `${prefix}releases:last-sequence`,
    /** Hash root version -> root envelope (JSON). */
    roots: `${prefix}roots`,
    /** String: the current (newest) root version. */
    rootCurrent: `${prefix}roots:current`,
  } as const;
}
