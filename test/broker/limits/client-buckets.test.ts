// ClientBuckets: one allowance per client id (not per caller), bounded by maxTracked, and a
// bucket forgotten after idleMs starts full, as the kept one would be by then.
import { describe, expect, it } from 'vitest';
import { ClientBuckets } from '../../../broker/limits/client-buckets.js';

describe('ClientBuckets', () => {
  it('shares one bucket per client id and keeps ids apart', () => {
    const buckets = new ClientBuckets({ ratePerSec: 2, burst: 2, idleMs: 60_000, maxTracked: 10 });
    expect(buckets.tryTake('a', 0)).toBe(true);
    expect(buckets.tryTake('a', 0)).toBe(true);
    expect(buckets.tryTake('a', 0)).toBe(false);
    expect(buckets.reserve('a', 0)).toBe(500);
    buckets.release('a');
    expect(buckets.tryTake('b', 0)).toBe(true);
    expect(buckets.tryTake('a', 500)).toBe(true);
  });

  it('tracks at most maxTracked ids', () => {
    const buckets = new ClientBuckets({ ratePerSec: 1, burst: 1, idleMs: 60_000, maxTracked: 3 });
    for (let i = 0; i < 10; i++) buckets.tryTake(`id-${i}`, 0);
    expect(buckets.size).toBe(3);
  });
});
