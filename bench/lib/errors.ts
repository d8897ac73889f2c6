// The benchmark's one error family: a stable code per way a run can fail (STYLE.md: error codes).
import { timeLimit } from '../../runtime/time-limit.js';

export type BenchErrorCode = 'ERR_BENCH_CONNECT' | 'ERR_BENCH_TIMEOUT' | 'ERR_BENCH_PUBLISH' | 'ERR_BENCH_ARGUMENT';

export class RawBenchmarkError extends Error {
  constructor(
    readonly code: BenchErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RawBenchmarkError';
  }
}

/** Rejects with ERR_BENCH_TIMEOUT if `work` has not settled within `ms`. */
export function within<T>(work: Promise<T>, ms: number, what: () => string): Promise<T> {
  return timeLimit(work, ms, () => {
    throw new RawBenchmarkError('ERR_BENCH_TIMEOUT', `timed out after ${ms} ms: ${what()}`);
  });
}
