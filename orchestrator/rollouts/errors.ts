// Failures of rollout operations, each with a stable code the HTTP layer maps to a status.
export type RolloutErrorCode =
  | 'rollout_not_found'
  | 'rollout_exists'
  | 'release_not_found'
  | 'empty_target'
  | 'invalid_waves'
  | 'invalid_state'
  | 'no_root'
  | 'target_required'
  | 'invalid_target'
  | 'release_not_newer'
  | 'not_approvable';

const HTTP_STATUS: Record<RolloutErrorCode, number> = {
  rollout_not_found: 404,
  rollout_exists: 409,
  release_not_found: 404,
  empty_target: 422,
  invalid_waves: 422,
  invalid_state: 409,
  no_root: 409,
  target_required: 422,
  invalid_target: 422,
  /** Some targets already run this sequence or a higher one and will reject the release (`rollback`); `force` accepts that. */
  release_not_newer: 409,
  /** `approve` promotes a manual wave of a running rollout; a paused or automatic one is not approvable. */
  not_approvable: 409,
};

export function isRolloutErrorCode(code: unknown): code is RolloutErrorCode {
  return typeof code === 'string' && Object.hasOwn(HTTP_STATUS, code);
}

export class RolloutError extends Error {
  readonly statusCode: number;
  constructor(readonly code: RolloutErrorCode, message: string) {
    super(message);
    this.name = 'RolloutError';
    this.statusCode = HTTP_STATUS[code];
  }
}
