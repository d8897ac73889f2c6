// The orchestrator's one error family: a stable `code` and the HTTP status it maps to.
// Services and route plugins throw ApiError; toErrorReply is the one place errors become JSON.

export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface ErrorReply {
  statusCode: number;
  body: { code: string; message: string };
}

/** Fastify's own error codes for request problems, mapped to ours. */
const FASTIFY_CODES: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'bad_request' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'bad_json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'bad_json' },
  FST_ERR_VALIDATION: { status: 400, code: 'bad_request' },
};

/** Translates any thrown value into a reply; 5xx messages are hidden (`internal error`). */
export function toErrorReply(error: unknown): ErrorReply {
  if (error instanceof ApiError) {
    if (error.statusCode >= 500) return { statusCode: error.statusCode, body: { code: error.code, message: 'internal error' } };
    return { statusCode: error.statusCode, body: { code: error.code, message: error.message } };
  }
  const e = error as { code?: unknown; statusCode?: unknown; validation?: unknown; message?: unknown; name?: unknown };
  const mapped = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (e.validation !== undefined) return { statusCode: 400, body: { code: 'bad_request', message: String(e.message) } };
  if (mapped) return { statusCode: mapped.status, body: { code: mapped.code, message: String(e.message) } };
  // A JSON body fastify could not parse arrives as a SyntaxError with statusCode 400.
  if (e.name === 'SyntaxError' && e.statusCode === 400) return { statusCode: 400, body: { code: 'bad_json', message: 'body is not valid JSON' } };
  const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
  if (status < 500) return { statusCode: status, body: { code: 'bad_request', message: String(e.message) } };
  return { statusCode: 500, body: { code: 'internal', message: 'internal error' } };
}

export const notFound = (what: string, id: string) => new ApiError(404, 'not_found', `${what} ${id} not found`);
