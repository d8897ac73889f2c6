// SessionExpiry on an injected clock: each session ends once at its deadline second, removed
// sessions never end, a clock jump ends every due session in one sweep.
import { describe, expect, it } from 'vitest';
import { SessionExpiry } from '../../../broker/auth/session-expiry.js';

function wheel(start: number) {
  const clock = { now: start };
  const ended: string[] = [];
  const expiry = new SessionExpiry<string>({ nowSeconds: () => clock.now, onExpired: (s) => ended.push(s), sweepIntervalMs: 60_000 });
  return { clock, ended, expiry };
}

describe('SessionExpiry', () => {
  it('ends each session at its deadline, once, and not a removed one', () => {
    const { clock, ended, expiry } = wheel(1000);
    expiry.add('a', 1002);
    expiry.add('b', 1003.5);
    expiry.add('c', 1003);
    expiry.remove('c');
    clock.now = 1001;
    expiry.sweep();
    expect(ended).toEqual([]);
    clock.now = 1002;
    expiry.sweep();
    expect(ended).toEqual(['a']);
    clock.now = 1010;
    expiry.sweep();
    expiry.sweep();
    expect(ended).toEqual(['a', 'b']);
    expect(expiry.size).toBe(0);
    expiry.close();
  });

  it('a deadline already past ends at the next sweep; a re-add moves the deadline', () => {
    const { clock, ended, expiry } = wheel(1000);
    clock.now = 1005;
    expiry.sweep();
    expiry.add('late', 990);
    expiry.add('moved', 1006);
    expiry.add('moved', 2000);
    clock.now = 1006;
    expiry.sweep();
    expect(ended).toEqual(['late']);
    clock.now = 1_000_000;
    expiry.sweep();
    expect(ended).toEqual(['late', 'moved']);
    expiry.close();
  });
});
