// Where errors become HTTP replies: the one table from a code to its status, and toErrorReply,
// the one place a thrown value becomes `{ code, message }`. The domain throws its own FleetError
// subclasses (registry, releases, artifacts, rollouts) and knows no status; route plugins throw
// HttpError for what only HTTP knows (tokens, media types, readiness). Codes are snake_case and
// part of the API's contract: clients match them, so a code is never renamed (docs/design.md#errors).
import { FleetError } from '../../runtime/errors.js';
import type { ArtifactErrorCode } from '../artifacts/errors.js';
import type { RegistryErrorCode } from '../registry/errors.js';
import type { QueryError } from '../registry/query/errors.js';
import type { ReleaseErrorCode, RootErrorCode } from '../releases/errors.js';
import type { RolloutErrorCode } from '../rollouts/errors.js';

/** Codes only the HTTP layer raises. */
export type HttpErrorCode =
  | 'bad_request'
  | 'bad_json'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'too_large'
  | 'unsupported_media_type'
  | 'upload_aborted'
  | 'not_ready'
  | 'internal';

export class HttpError extends FleetError<HttpErrorCode> {}

/** Every code an API reply may carry. */
export type ApiErrorCode = HttpErrorCode | RegistryErrorCode | QueryError['code'] | ReleaseErrorCode | RootErrorCode | ArtifactErrorCode | RolloutErrorCode;

/** The one table from code to HTTP status; `satisfies` makes a new code without a status a type error. */
export const HTTP_STATUS = {
  // The request itself
  bad_request: 400,
  bad_json: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  too_large: 413,
  unsupported_media_type: 415,
  upload_aborted: 400,
  not_ready: 503,
  internal: 500,
  // Registry: a bad field is 400; a limit the stored device would cross is 422.
  bad_schema: 400,
  invalid_device_id: 400,
  invalid_public_key: 400,
  invalid_vendor_id: 400,
  invalid_class_id: 400,
  invalid_groups: 400,
  invalid_tags: 400,
  invalid_attributes: 400,
  too_many_attributes: 422,
  device_exists: 409,
  bad_csv_header: 400,
  // Device queries (GET /v1/devices?q=, a rollout's target.query): the reply carries `position`.
  invalid_query: 422,
  // Artifacts
  invalid_artifact_id: 400,
  // Releases and roots: not the shape (400), does not verify (422), conflicts with what is stored (409).
  invalid_release: 400,
  release_signature: 422,
  release_expired: 422,
  artifact_missing: 422,
  artifact_mismatch: 422,
  duplicate_release: 409,
  sequence_not_increasing: 409,
  no_root: 409,
  invalid_root: 400,
  root_invalid: 422,
  root_expired: 422,
  root_conflict: 409,
  // Rollouts
  rollout_not_found: 404,
  release_not_found: 404,
  rollout_exists: 409,
  invalid_state: 409,
  release_not_newer: 409,
  not_approvable: 409,
  empty_target: 422,
  invalid_waves: 422,
  target_required: 422,
  invalid_target: 422,
  invalid_schedule: 422,
  invalid_rate: 422,
  nothing_to_retry: 409,
  blast_radius_exceeded: 422,
} as const satisfies Record<ApiErrorCode, number>;

function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(HTTP_STATUS, code);
}

export interface ErrorReply {
  statusCode: number;
  body: { code: string; message: string; position?: number };
}

/** Fastify's own error codes for request problems, mapped to ours. */
const FASTIFY_CODES: Record<string, HttpErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'bad_request',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'bad_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'bad_json',
  FST_ERR_VALIDATION: 'bad_request',
};

const INTERNAL: ErrorReply = { statusCode: 500, body: { code: 'internal', message: 'internal error' } };

function reply(code: ApiErrorCode, message: string): ErrorReply {
  const statusCode = HTTP_STATUS[code];
  // 5xx messages are hidden: they may name internals.
  return { statusCode, body: { code, message: statusCode >= 500 ? 'internal error' : message } };
}

/** Translates any thrown value into a reply; a code not in the table, or any other error, is a hidden 500. */
export function toErrorReply(error: unknown): ErrorReply {
  if (error instanceof FleetError) {
    if (!isApiErrorCode(error.code)) return INTERNAL;
    const answer = reply(error.code, error.message);
    // A query error says where: clients point at the place (parse-query.ts).
    const position = (error as { position?: unknown }).position;
    if (typeof position === 'number') answer.body.position = position;
    return answer;
  }
  const e = error as { code?: unknown; statusCode?: unknown; validation?: unknown; message?: unknown; name?: unknown };
  if (e.validation !== undefined) return reply('bad_request', String(e.message));
  const mapped = typeof e.code === 'string' ? FASTIFY_CODES[e.code] : undefined;
  if (mapped) return reply(mapped, String(e.message));
  // A JSON body fastify could not parse arrives as a SyntaxError with statusCode 400.
  if (e.name === 'SyntaxError' && e.statusCode === 400) return reply('bad_json', 'body is not valid JSON');
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) return { statusCode: e.statusCode, body: { code: 'bad_request', message: String(e.message) } };
  return INTERNAL;
}

export const notFound = (what: string, id: string) => new HttpError('not_found', `${what} ${id} not found`);
