// Failures of rollout operations (runtime/errors.ts family), each with a stable code;
// http/errors.ts maps codes to HTTP statuses.
import { FleetError } from '../../runtime/errors.js';

export const ROLLOUT_ERROR_CODES = [
  'rollout_not_found',
  'rollout_exists',
  'release_not_found',
  'empty_target',
  'invalid_waves',
  'invalid_state',
  'no_root',
  'target_required',
  'invalid_target',
  /** Some targets already run this sequence or a higher one and will reject the release (`rollback`); `force` accepts that. */
  'release_not_newer',
  /** `approve` promotes a manual wave of a running rollout; a paused or automatic one is not approvable. */
  'not_approvable',
  /** schedule: endAt not after startAt, a window's cron or time zone refused (schedule.ts). */
  'invalid_schedule',
  /** rate: both maxNotificationsPerMinute and rate, or a ramp starting above its ceiling. */
  'invalid_rate',
  /** retry-failed found no failed or timed-out device to retry. */
  'nothing_to_retry',
  /** The blast-radius bound derived from the spec is above the spec's `maxBlastRadius` (blast-radius.ts). */
  'blast_radius_exceeded',
  /** A spec that breaks no coded rule but is still not a spec (spec.ts): the API's generic request code. */
  'bad_request',
] as const;

export type RolloutErrorCode = (typeof ROLLOUT_ERROR_CODES)[number];

export function isRolloutErrorCode(code: unknown): code is RolloutErrorCode {
  return typeof code === 'string' && (ROLLOUT_ERROR_CODES as readonly string[]).includes(code);
}

export class RolloutError extends FleetError<RolloutErrorCode> {}
