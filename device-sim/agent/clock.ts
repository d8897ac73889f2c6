// Time as the agent sees it: seconds since the epoch, passed in so tests and the simulator's
// clock-skew profile can set it. The protocol checks take this `now`, never the system's.

export interface Clock {
  /** Seconds since the epoch (may carry a fraction). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() / 1000 };

/** A clock that runs `skewSeconds` ahead (positive) or behind (negative) of `base`. */
export function skewedClock(base: Clock, skewSeconds: number): Clock {
  return { now: () => base.now() + skewSeconds };
}
