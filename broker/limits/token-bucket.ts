// Token bucket for per-client publish throttling: a publish reserves one token and learns how
// long it must wait for it. Time is passed in (monotonic milliseconds).
// Kept rather than rate-limiter-flexible: the publish hook needs, synchronously and per packet,
// the wait until the next token (the throttle delays, it does not refuse) and a way to give a
// token back; the library's limiters answer through a Promise, read Date.now() (tests inject
// time here), and its Redis limiter, the one that would share an allowance across broker nodes,
// costs a Redis round trip per publish (README: "Sessions and per-client limits").

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.last = nowMs;
  }

  /** Takes one token; returns 0 if it was available, else the wait in ms until it will be. */
  reserve(nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.last);
    this.last = nowMs;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.ratePerSec) / 1000);
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens * 1000) / this.ratePerSec);
  }

  /** Gives back a token reserved by a publish that was then not made. */
  release(): void {
    this.tokens = Math.min(this.burst, this.tokens + 1);
  }
}
