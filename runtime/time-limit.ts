// Bounds the wait for work that takes no AbortSignal (an ioredis command, a Promise.all of
// publishes, a loop draining): the timer is node:timers/promises' sleep, cancelled as soon as
// the work settles, so no timer outlives it. Work that accepts a signal takes
// AbortSignal.timeout(ms) instead and needs none of this.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Resolves with `work`, or with what `onTimeout` returns (or rejects with what it throws) once
 * `ms` pass first. The work itself goes on: it cannot be cancelled, only no longer awaited.
 */
export async function timeLimit<T, U = never>(work: Promise<T>, ms: number, onTimeout: () => U): Promise<T | U> {
  const settled = new AbortController();
  try {
    // Once the work wins, aborting rejects the sleep; race has already subscribed, so that
    // rejection is handled and onTimeout never runs.
    return await Promise.race([work, sleep(ms, undefined, { signal: settled.signal }).then(onTimeout)]);
  } finally {
    settled.abort();
  }
}
