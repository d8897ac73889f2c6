// Failures of rollout operations, each with a stable code the HTTP layer maps to a status.
export type RolloutErrorCode =
  | 'rollout_not_found'
  | 'rollout_exists'
  | 'release_not_found'
  | 'empty_target'
  | 'invalid_waves'
  | 'invalid_state'
  | 'no_root';

const HTTP_STATUS: Record<RolloutErrorCode, number> = {
  rollout_not_found: 404,
  rollout_exists: 409,
  release_not_found: 404,
  empty_target: 422,
  invalid_waves: 422,
  invalid_state: 409,
  no_root: 409,
};

export class RolloutError extends Error {
  readonly statusCode: number;
  constructor(readonly code: RolloutErrorCode, message: string) {
    super(message);
    this.name = 'RolloutError';
    this.statusCode = HTTP_STATUS[code];
  }
}
