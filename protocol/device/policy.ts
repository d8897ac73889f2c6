// Policy step of the device checks (docs/protocol.md#policy): whether a
// verified install proceeds now, waits, or is declined. Pure: time and consent are passed in.
import type { Policy } from '../schemas/directive.js';
import { parseWireTime } from '../time.js';

export type PolicyDecision = 'proceed' | 'defer' | 'decline';
/** The owner's answer to an optional update; `undefined` while not asked or not answered. */
export type Consent = 'granted' | 'declined' | undefined;

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** docs/protocol.md#policy: `window` is UTC; `end` earlier than `start` wraps past midnight. */
export function isInsideWindow(window: { start: string; end: string }, nowSeconds: number): boolean {
  const minute = Math.floor((nowSeconds % 86_400) / 60);
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  if (start === end) return true;
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/**
 * auto: proceeds inside the window. optional: needs consent, declined ends it. forced:
 * ignores consent but not the window, unless the deadline has passed.
 */
export function decidePolicy(policy: Policy, nowSeconds: number, consent: Consent): PolicyDecision {
  const deadline = policy.deadline !== undefined ? parseWireTime(policy.deadline) : undefined;
  const pastDeadline = deadline !== undefined && nowSeconds >= deadline;
  const windowOpen = policy.window === undefined || isInsideWindow(policy.window, nowSeconds);
  switch (policy.mode) {
    case 'auto':
      return windowOpen ? 'proceed' : 'defer';
    case 'optional':
      if (consent === 'declined') return 'decline';
      if (consent !== 'granted') return 'defer';
      return windowOpen ? 'proceed' : 'defer';
    case 'forced':
      return windowOpen || pastDeadline ? 'proceed' : 'defer';
  }
}
