// Per-device rollout states and their order (docs/protocol.md#device-states; docs/design.md#rollouts).

export const DEVICE_STATES = [
  'queued',
  'notified',
  'accepted',
  'deferred',
  'rejected',
  'downloading',
  'verifying',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'timed_out',
  'canceled',
] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];

/** States a device reports in a status report. */
export const REPORTED_STATES = [
  'accepted', 'deferred', 'rejected', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded', 'failed',
] as const;
export type ReportedState = (typeof REPORTED_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<DeviceState> = new Set(['rejected', 'succeeded', 'failed', 'timed_out', 'canceled']);

/**
 * Terminal and not a success: the one definition of "failed" that the CLI, the demo and the
 * console show. The engine's failure threshold counts these too, less an owner's `declined`
 * rejections (orchestrator/rollouts/decide.ts failuresOf).
 */
export const FAILED_STATES: readonly DeviceState[] = ['failed', 'rejected', 'timed_out'];

/** Devices in FAILED_STATES among `counts` (a count per state; missing states count 0). */
export function failedCount(counts: Partial<Record<DeviceState, number>>): number {
  return FAILED_STATES.reduce((n, state) => n + (counts[state] ?? 0), 0);
}

/**
 * Progress rank: a transition must not go to a lower rank. `accepted` and `deferred` share a
 * rank (a deferred device may later accept), `downloading` may repeat with more progress.
 */
export const STATE_RANK: Readonly<Record<DeviceState, number>> = {
  queued: 0,
  notified: 1,
  deferred: 2,
  accepted: 2,
  rejected: 9,
  downloading: 3,
  verifying: 4,
  installing: 5,
  rebooting: 6,
  succeeded: 9,
  failed: 9,
  timed_out: 9,
  canceled: 9,
};

export function isTerminal(state: DeviceState): boolean {
  return TERMINAL_STATES.has(state);
}

/**
 * Whether `next` (with its progress) moves a device forward from `current`. Backwards
 * moves and anything after a terminal state are ignored (docs/protocol.md#device-states).
 */
export function isForwardTransition(current: DeviceState, next: DeviceState, currentProgress = 0, nextProgress = 0): boolean {
  if (isTerminal(current)) return false;
  const from = STATE_RANK[current];
  const to = STATE_RANK[next];
  if (to > from) return true;
  if (to < from) return false;
  if (current === 'deferred' && next === 'accepted') return true;
  if (current === 'downloading' && next === 'downloading') return nextProgress > currentProgress;
  return false;
}
