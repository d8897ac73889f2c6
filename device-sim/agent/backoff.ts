// Exponential backoff with jitter for reconnects and download retries: attempt n waits a
// random delay in [base/2, base] with base = min(maxMs, initialMs * factor^n) ("equal
// jitter"), so a fleet that lost its broker does not come back in lockstep.

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

/** `random` returns [0, 1): Math.random in production, a seeded generator in the simulator. */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number): number {
  const exponent = Math.max(0, Math.min(attempt, 30));
  const base = Math.min(policy.maxMs, policy.initialMs * policy.factor ** exponent);
  return Math.round(base / 2 + random() * (base / 2));
}

/** Resolves after `ms`, or early (rejecting nothing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
