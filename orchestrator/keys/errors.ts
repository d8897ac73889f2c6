// Errors of the offline key tooling (runtime/errors.ts family): a stable `code` scripts can
// match, and the exit code the CLI ends with (2 = the command was used wrongly, 1 = it could not be done).
import { FleetError } from '../../runtime/errors.js';

export type KeyToolCode =
  | 'usage'
  | 'key_set_exists'
  | 'no_key_set'
  | 'root_file'
  | 'pending_root'
  | 'unknown_key'
  | 'key_not_listed'
  | 'threshold_unmeetable'
  | 'threshold_not_met'
  | 'too_many_signatures'
  | 'artifact'
  | 'output_exists'
  /** A key file that is missing, not JSON, or not the key it claims to be (key-file.ts). */
  | 'key_file'
  /** A private key file others can read (not 0600). */
  | 'key_permissions';

export class KeyToolError extends FleetError<KeyToolCode> {
  readonly exitCode: number;
  constructor(code: KeyToolCode, message: string, exitCode = code === 'usage' ? 2 : 1) {
    super(code, message);
    this.exitCode = exitCode;
  }
}

/** A wrong argument: the CLI exits 2. */
export function usageError(message: string): KeyToolError {
  return new KeyToolError('usage', message, 2);
}
