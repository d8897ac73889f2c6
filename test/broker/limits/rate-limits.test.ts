// Token bucket (publishes per client) and one-second windows (connects per address), with time passed in.
import { describe, expect, it } from 'vitest';
import { ConnectRateLimiter } from '../../../broker/limits/connect-rate.js';
import { TokenBucket } from '../../../broker/limits/token-bucket.js';

describe('TokenBucket', () => {
  it('serves a burst, then spaces reservations at the rate', () => {
    const bucket = new TokenBucket(10, 10, 0);
    for (let i = 0; i < 10; i++) expect(bucket.reserve(0)).toBe(0);
    expect(bucket.reserve(0)).toBe(100);
    expect(bucket.reserve(0)).toBe(200);
    // After a second, ten more tokens have come in; two were already spoken for.
    expect(bucket.reserve(1000)).toBe(0);
  });
  it('never holds more than the burst, and release gives a token back', () => {
    const bucket = new TokenBucket(5, 2, 0);
    expect(bucket.reserve(100_000)).toBe(0);
    expect(bucket.reserve(100_000)).toBe(0);
    expect(bucket.reserve(100_000)).toBe(200);
    bucket.release();
    expect(bucket.reserve(100_000)).toBe(200);
  });
});

describe('ConnectRateLimiter', () => {
  it('allows N per address per one-second window', () => {
    const limiter = new ConnectRateLimiter(3);
    expect([1, 2, 3, 4].map(() => limiter.allow('10.0.0.1', 0))).toEqual([true, true, true, false]);
    expect(limiter.allow('10.0.0.2', 10)).toBe(true);
    expect(limiter.allow('10.0.0.1', 999)).toBe(false);
    expect(limiter.allow('10.0.0.1', 1000)).toBe(true);
  });
  it('0 disables it; the table is bounded', () => {
    const off = new ConnectRateLimiter(0);
    for (let i = 0; i < 100; i++) expect(off.allow('a', 0)).toBe(true);
    const bounded = new ConnectRateLimiter(1, 2);
    expect(bounded.allow('a', 0)).toBe(true);
    expect(bounded.allow('b', 0)).toBe(true);
    // Untracked addresses pass (the global connection cap still holds).
    expect(bounded.allow('c', 0)).toBe(true);
    expect(bounded.allow('c', 0)).toBe(true);
    expect(bounded.allow('a', 0)).toBe(false);
  });
});
