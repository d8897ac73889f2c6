// Errors of release import and root publication (runtime/errors.ts family). The HTTP status of
// each code is decided in http/errors.ts, not here.
import { FleetError } from '../../runtime/errors.js';

export type ReleaseErrorCode =
  | 'invalid_release'
  | 'no_root'
  | 'release_signature'
  | 'release_expired'
  | 'artifact_missing'
  | 'artifact_mismatch'
  | 'duplicate_release'
  | 'sequence_not_increasing';

export class ReleaseError extends FleetError<ReleaseErrorCode> {}

export type RootErrorCode =
  /** Not a root envelope at all (shape). */
  | 'invalid_root'
  /** Not newer than the current root, or another root was published meanwhile. */
  | 'root_conflict'
  /** The root chain refused it (docs/protocol.md#root-chain): thresholds, keys, version step. */
  | 'root_invalid'
  | 'root_expired';

export class RootError extends FleetError<RootErrorCode> {}
