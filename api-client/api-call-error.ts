// The one error the API client throws. `kind` says what went wrong (the server refused, the
// server could not be reached, or its answer was unusable); `code` is the server's own code on
// a refusal (`rollout_not_found`), else the client's (`network`, `timeout`, ...). Callers map
// kinds to their exit codes or retries; they never parse the message.

export type ApiFailureKind = 'refused' | 'unreachable' | 'bad_response';

export class ApiCallError extends Error {
  constructor(
    readonly kind: ApiFailureKind,
    readonly code: string,
    message: string,
    /** The HTTP status of a refusal. */
    readonly status?: number,
    /** The server's own `message` on a refusal, if it gave one. */
    readonly serverMessage?: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}
