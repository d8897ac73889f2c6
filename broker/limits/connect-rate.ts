// New connections per source address per second, counted in one-second windows. The table is
// cleared every window, so it holds at most one second's worth of distinct addresses (and never
// more than `maxTracked`: past that, new addresses go uncounted and the global cap still holds).
// Kept rather than rate-limiter-flexible: the listener decides synchronously in the socket's
// 'connection' handler, before any byte is read, with an injected clock; the library answers
// through a Promise per call and reads Date.now().

export class ConnectRateLimiter {
  private readonly counts = new Map<string, number>();
  private windowStart = -Infinity;

  constructor(
    private readonly perSecond: number,
    private readonly maxTracked = 100_000,
  ) {}

  /** True if `address` may open another connection at `nowMs` (monotonic); 0 = unlimited. */
  allow(address: string, nowMs: number): boolean {
    if (this.perSecond <= 0) return true;
    if (nowMs - this.windowStart >= 1000) {
      this.counts.clear();
      this.windowStart = nowMs;
    }
    const seen = this.counts.get(address);
    if (seen === undefined) {
      if (this.counts.size < this.maxTracked) this.counts.set(address, 1);
      return true;
    }
    if (seen >= this.perSecond) return false;
    this.counts.set(address, seen + 1);
    return true;
  }
}
