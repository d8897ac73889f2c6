// Errors of the artifact store (runtime/errors.ts family); http/errors.ts maps codes to statuses.
import { FleetError } from '../../runtime/errors.js';

export type ArtifactErrorCode =
  /** Not a lowercase hex SHA-256 (routes check the pattern first; this guards the file path). */
  | 'invalid_artifact_id'
  /** The upload grew past the store's limit. */
  | 'too_large';

export class ArtifactError extends FleetError<ArtifactErrorCode> {}
