// The agent's pure helpers: backoff bounds, directive peeking, outbox trimming, the policy gate.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../device-sim/agent/backoff.js';
import { peekDirective } from '../../../device-sim/agent/directive-peek.js';
import { decideInstall } from '../../../device-sim/agent/policy-gate.js';
import { trimOutbox } from '../../../device-sim/agent/reports.js';
import type { OutboxEntry } from '../../../device-sim/agent/device-state.js';
import { formatWireTime } from '../../../protocol/index.js';
import { NOW } from '../support/trust.js';

describe('backoffDelay', () => {
  it('stays within [base/2, base], base doubling up to the cap', () => {
    const policy = { initialMs: 100, maxMs: 5000, factor: 2 };
    fc.assert(fc.property(fc.integer({ min: 0, max: 1000 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), (attempt, r) => {
      const base = Math.min(5000, 100 * 2 ** Math.min(attempt, 30));
      const delay = backoffDelay(policy, attempt, () => r);
      return delay >= Math.floor(base / 2) && delay <= base;
    }));
  });
});

describe('peekDirective', () => {
  const text = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  it('reads rollout id and counter, or nothing', () => {
    expect(peekDirective(text({ directive: { signed: { rolloutId: 'r-1', counter: 7, deviceId: 'd' } } }))).toEqual({ rolloutId: 'r-1', counter: 7, deviceId: 'd' });
    expect(peekDirective(text({ directive: { signed: { rolloutId: 'r 1', counter: 7, deviceId: 'd' } } }))).toBeUndefined();
    expect(peekDirective(text({ directive: { signed: { rolloutId: 'r', counter: 1.5, deviceId: 'd' } } }))).toBeUndefined();
    expect(peekDirective(text({ directive: { signed: { rolloutId: 'r', counter: -1, deviceId: 'd' } } }))).toBeUndefined();
    expect(peekDirective(text(null))).toBeUndefined();
    expect(peekDirective(new Uint8Array([0xc3]))).toBeUndefined();
    expect(peekDirective(new Uint8Array(65 * 1024))).toBeUndefined();
  });
});

describe('trimOutbox', () => {
  const entry = (seq: number, state: OutboxEntry['state']): OutboxEntry => ({ seq, state, rolloutId: 'r', counter: 1, body: '' });
  it('drops progress reports first, then the oldest, and keeps the newest', () => {
    const out = trimOutbox([entry(1, 'accepted'), entry(2, 'downloading'), entry(3, 'downloading'), entry(4, 'verifying')], 2);
    expect(out.map((e) => e.seq)).toEqual([1, 4]);
    expect(trimOutbox([entry(1, 'accepted'), entry(2, 'verifying'), entry(3, 'downloading')], 1).map((e) => e.seq)).toEqual([3]);
  });
});

describe('decideInstall', () => {
  // NOW is 12:00 UTC.
  it('needs both windows open; forced past the deadline ignores both', () => {
    expect(decideInstall({ mode: 'auto' }, NOW, undefined, { start: '11:00', end: '13:00' })).toBe('proceed');
    expect(decideInstall({ mode: 'auto' }, NOW, undefined, { start: '13:00', end: '14:00' })).toBe('defer');
    expect(decideInstall({ mode: 'auto', window: { start: '13:00', end: '14:00' } }, NOW, undefined, { start: '11:00', end: '13:00' })).toBe('defer');
    expect(decideInstall({ mode: 'forced', deadline: formatWireTime(NOW - 3600) }, NOW, undefined, { start: '13:00', end: '14:00' })).toBe('proceed');
    expect(decideInstall({ mode: 'optional' }, NOW, 'declined', { start: '13:00', end: '14:00' })).toBe('decline');
  });
});
