// Redis state of the directive reconciler (orchestrator/rollouts/reconciler.ts): the sweep lock
// (one sweeper at a time across orchestrators) and the counters metrics read.
import type { RedisClient as Redis } from '../redis.js';
import { reconcileKeys } from './keys.js';

export const RECONCILE_KINDS = ['republished', 'reissued'] as const;
export type ReconcileKind = (typeof RECONCILE_KINDS)[number];

export class ReconcileState {
  private readonly keys;

  constructor(private readonly redis: Redis, prefix: string) {
    this.keys = reconcileKeys(prefix);
  }

  /** True if this caller now holds the sweep lock for `ms`. */
  async acquireSweepLock(token: string, ms: number): Promise<boolean> {
    return (await this.redis.set(this.keys.sweepLock, token, 'PX', ms, 'NX')) === 'OK';
  }

  async renewSweepLock(ms: number): Promise<void> {
    await this.redis.pexpire(this.keys.sweepLock, ms);
  }

  /** Releases the lock if `token` still holds it. */
  async releaseSweepLock(token: string): Promise<void> {
    if ((await this.redis.get(this.keys.sweepLock)) === token) await this.redis.del(this.keys.sweepLock);
  }

  async count(counts: Partial<Record<ReconcileKind, number>>): Promise<void> {
    const pipe = this.redis.pipeline();
    for (const [kind, n] of Object.entries(counts)) if (n) pipe.hincrby(this.keys.stats, kind, n);
    await pipe.exec();
  }

  async read(): Promise<Record<ReconcileKind, number>> {
    const values = await this.redis.hmget(this.keys.stats, ...RECONCILE_KINDS);
    return Object.fromEntries(RECONCILE_KINDS.map((kind, i) => [kind, Number(values[i] ?? 0)])) as Record<ReconcileKind, number>;
  }
}
