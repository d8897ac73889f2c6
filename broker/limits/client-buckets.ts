// Token buckets keyed by client id, so an allowance belongs to the device and not to one
// connection: reconnecting does not refill it. Bounded memory: an LRU (lru-cache) of at most
// `maxTracked` buckets, each dropped after `idleMs` without use. idleMs is chosen by the caller
// as the time an emptied bucket takes to refill, so dropping an idle bucket changes nothing
// (a new bucket starts full). Per broker node: see README "Sessions and per-client limits" for clusters.
import { LRUCache } from 'lru-cache';
import { TokenBucket } from './token-bucket.js';

export interface ClientBucketsOptions {
  ratePerSec: number;
  burst: number;
  /** Idle time after which a bucket is full again and may be forgotten. */
  idleMs: number;
  maxTracked: number;
}

export class ClientBuckets {
  private readonly buckets: LRUCache<string, TokenBucket>;

  constructor(private readonly options: ClientBucketsOptions) {
    // updateAgeOnGet: the idle time counts from the last use, not from creation.
    this.buckets = new LRUCache({ max: options.maxTracked, ttl: Math.max(1, Math.ceil(options.idleMs)), updateAgeOnGet: true });
  }

  /** Takes one token for `clientId` at `nowMs` (monotonic); 0 if available, else the wait in ms. */
  reserve(clientId: string, nowMs: number): number {
    let bucket = this.buckets.get(clientId);
    if (bucket === undefined) {
      bucket = new TokenBucket(this.options.ratePerSec, this.options.burst, nowMs);
      this.buckets.set(clientId, bucket);
    }
    return bucket.reserve(nowMs);
  }

  /** Takes a token only if one is available now; false (nothing taken) otherwise. */
  tryTake(clientId: string, nowMs: number): boolean {
    if (this.reserve(clientId, nowMs) === 0) return true;
    this.release(clientId);
    return false;
  }

  /** Gives back a token reserved by something that was then not done. */
  release(clientId: string): void {
    this.buckets.get(clientId)?.release();
  }

  get size(): number {
    return this.buckets.size;
  }
}
