// What the reconciler does about one device's directive, as a pure function of the device's
// rollout entry, when its directive was issued, and the clock (STYLE.md §6): nothing, publish
// the same directive again (byte-identical), or issue a fresh one (new counter, new expiry).
import { TERMINAL_STATES, type DeviceState } from '../../protocol/index.js';
import type { DeviceRolloutEntry } from '../../state/rollouts/entry.js';

export type DirectiveAction = 'none' | 'republish' | 'reissue';

/**
 * States in which the device holds the directive but has not started on it: a fresh directive
 * costs it nothing. Once it accepted, a new install directive would restart its job, so those
 * devices only ever get theirs again while it is valid.
 */
const NOT_STARTED: ReadonlySet<string> = new Set(['notified', 'deferred']);

export interface DirectiveActionInput {
  entry: DeviceRolloutEntry | undefined;
  /** Epoch seconds the device's current directive was issued; undefined if not recorded. */
  issuedAt: number | undefined;
  ttlSeconds: number;
  nowSeconds: number;
  /** Share of a directive's lifetime before its end at which a not-started device gets a fresh one. */
  renewFraction: number;
}

export function directiveAction({ entry, issuedAt, ttlSeconds, nowSeconds, renewFraction }: DirectiveActionInput): DirectiveAction {
  // Queued: the notify slice publishes it. Settled: nothing is owed any more.
  if (!entry || entry.counter <= 0 || entry.state === 'queued' || TERMINAL_STATES.has(entry.state as DeviceState)) return 'none';
  const notStarted = NOT_STARTED.has(entry.state);
  // No issue time recorded (a rollout notified before it was kept): the bytes cannot be rebuilt.
  if (issuedAt === undefined) return notStarted ? 'reissue' : 'none';
  const expiresAt = issuedAt + ttlSeconds;
  if (notStarted && nowSeconds >= expiresAt - ttlSeconds * renewFraction) return 'reissue';
  // An expired directive is never sent again: the device would reject it and, once it started,
  // its job continues on the copy it keeps (its report of `directive_expired` asks for a new one).
  return nowSeconds < expiresAt ? 'republish' : 'none';
}
