// Errors of the offline key tooling: a stable `code` scripts can match, and the exit code the
// CLI ends with (2 = the command was used wrongly, 1 = it could not be done).
export type KeyToolCode =
  | 'ERR_USAGE'
  | 'ERR_KEY_SET_EXISTS'
  | 'ERR_NO_KEY_SET'
  | 'ERR_ROOT_FILE'
  | 'ERR_PENDING_ROOT'
  | 'ERR_UNKNOWN_KEY'
  | 'ERR_KEY_NOT_LISTED'
  | 'ERR_THRESHOLD_UNMEETABLE'
  | 'ERR_THRESHOLD_NOT_MET'
  | 'ERR_TOO_MANY_SIGNATURES'
  | 'ERR_ARTIFACT'
  | 'ERR_OUTPUT_EXISTS';

export class KeyToolError extends Error {
  readonly exitCode: number;
  constructor(readonly code: KeyToolCode, message: string, exitCode = code === 'ERR_USAGE' ? 2 : 1) {
    super(message);
    this.name = 'KeyToolError';
    this.exitCode = exitCode;
  }
}

/** A wrong argument: the CLI exits 2. */
export function usageError(message: string): KeyToolError {
  return new KeyToolError('ERR_USAGE', message, 2);
}
