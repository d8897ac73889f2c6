// Ends device sessions whose connect token has expired: a token authorizes a connection only
// while it would still be accepted at CONNECT (exp + the 60 s skew,
// docs/protocol.md#device-connect-token). One shared wheel of one-second slots swept by one
// timer, instead of a setTimeout per session: at 100k sessions with distinct deadlines that is
// 100k Timeout objects in Node's timer lists (bench/session-expiry.ts: about twice the heap and
// the time of the wheel). Time is passed in.

export interface SessionExpiryOptions<T> {
  /** Wall-clock seconds (the clock tokens are checked against). */
  nowSeconds: () => number;
  onExpired: (session: T) => void;
  /** How often the wheel is swept; a session ends at most this long after its deadline. */
  sweepIntervalMs?: number;
}

export const SESSION_EXPIRY_SWEEP_MS = 1_000;

export class SessionExpiry<T> {
  /** Sessions by the second their token expires (deadline, inclusive). */
  private readonly slots = new Map<number, Set<T>>();
  private readonly deadlines = new Map<T, number>();
  /** Every slot up to this second has been swept. */
  private sweptThrough: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: SessionExpiryOptions<T>) {
    this.sweptThrough = Math.floor(options.nowSeconds()) - 1;
    this.timer = setInterval(() => this.sweep(), options.sweepIntervalMs ?? SESSION_EXPIRY_SWEEP_MS);
    this.timer.unref();
  }

  /** Ends `session` once the clock reaches `deadlineSeconds`. */
  add(session: T, deadlineSeconds: number): void {
    this.remove(session);
    // A deadline already swept past goes in the next slot swept.
    const slot = Math.max(Math.floor(deadlineSeconds), this.sweptThrough + 1);
    let sessions = this.slots.get(slot);
    if (sessions === undefined) this.slots.set(slot, (sessions = new Set()));
    sessions.add(session);
    this.deadlines.set(session, slot);
  }

  /** The session ended first (disconnect): forget it. */
  remove(session: T): void {
    const slot = this.deadlines.get(session);
    if (slot === undefined) return;
    this.deadlines.delete(session);
    const sessions = this.slots.get(slot);
    sessions?.delete(session);
    if (sessions?.size === 0) this.slots.delete(slot);
  }

  get size(): number {
    return this.deadlines.size;
  }

  /** Ends every session whose deadline has come. Called by the timer; callable directly. */
  sweep(): void {
    const now = Math.floor(this.options.nowSeconds());
    if (now <= this.sweptThrough) return;
    const due: number[] = [];
    // Walk the elapsed seconds, or the occupied slots when fewer (after a long pause or a clock jump).
    if (now - this.sweptThrough <= this.slots.size) {
      for (let second = this.sweptThrough + 1; second <= now; second++) if (this.slots.has(second)) due.push(second);
    } else {
      for (const second of this.slots.keys()) if (second <= now) due.push(second);
    }
    this.sweptThrough = now;
    for (const second of due) {
      const sessions = this.slots.get(second);
      this.slots.delete(second);
      for (const session of sessions ?? []) {
        this.deadlines.delete(session);
        this.options.onExpired(session);
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.slots.clear();
    this.deadlines.clear();
  }
}
