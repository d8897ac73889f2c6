// Releases and roots in Redis: key names and typed operations. Re-exports only.
export { releaseKeys, rootKeys } from './keys.js';
export { lastReleaseSequence, readReleaseFields, releaseIdByDigest, releaseIdsNewestFirst, storeRelease, type ReleaseFields, type StoreReleaseOutcome } from './release-records.js';
export { currentRootVersion, publishRootVersion, readRootVersions, rootVersions } from './root-records.js';
