// The policy step (protocol/device/policy.ts): maintenance windows in UTC that may wrap past
// midnight (docs/protocol.md#directive), and auto / optional / forced decisions with a deadline.
import { describe, expect, it } from 'vitest';
import { decidePolicy, isInsideWindow, parseWireTime, type Policy } from '../../../protocol/index.js';

const t = (hhmm: string, day = '2026-06-01') => parseWireTime(`${day}T${hhmm}:00Z`)!;

describe('isInsideWindow', () => {
  it('a same-day window includes its start and excludes its end', () => {
    const w = { start: '02:00', end: '05:00' };
    expect(isInsideWindow(w, t('01:59'))).toBe(false);
    expect(isInsideWindow(w, t('02:00'))).toBe(true);
    expect(isInsideWindow(w, t('04:59'))).toBe(true);
    expect(isInsideWindow(w, t('05:00'))).toBe(false);
    expect(isInsideWindow(w, t('14:00'))).toBe(false);
  });

  it('a window whose end is earlier than its start wraps past midnight', () => {
    const w = { start: '22:00', end: '03:00' };
    expect(isInsideWindow(w, t('21:59'))).toBe(false);
    expect(isInsideWindow(w, t('22:00'))).toBe(true);
    expect(isInsideWindow(w, t('23:59'))).toBe(true);
    expect(isInsideWindow(w, t('00:00'))).toBe(true);
    expect(isInsideWindow(w, t('02:59'))).toBe(true);
    expect(isInsideWindow(w, t('03:00'))).toBe(false);
    expect(isInsideWindow(w, t('12:00'))).toBe(false);
  });

  it('uses UTC on any day, ignoring seconds within the minute', () => {
    const w = { start: '23:30', end: '00:30' };
    expect(isInsideWindow(w, t('00:15', '2031-12-31') + 59)).toBe(true);
    expect(isInsideWindow(w, t('00:30', '2028-02-29'))).toBe(false);
  });

  it('start equal to end is the whole day', () => {
    expect(isInsideWindow({ start: '04:00', end: '04:00' }, t('13:37'))).toBe(true);
  });
});

describe('decidePolicy', () => {
  const night = { start: '22:00', end: '03:00' };
  const inside = t('23:00');
  const outside = t('12:00');

  it('auto proceeds without a window, and inside one; defers outside it; ignores consent', () => {
    expect(decidePolicy({ mode: 'auto' }, outside, undefined)).toBe('proceed');
    expect(decidePolicy({ mode: 'auto', window: night }, inside, undefined)).toBe('proceed');
    expect(decidePolicy({ mode: 'auto', window: night }, outside, undefined)).toBe('defer');
    expect(decidePolicy({ mode: 'auto' }, outside, 'declined')).toBe('proceed');
  });

  it('optional waits for consent, ends on decline, and still honours the window', () => {
    const policy: Policy = { mode: 'optional', window: night };
    expect(decidePolicy(policy, inside, undefined)).toBe('defer');
    expect(decidePolicy(policy, inside, 'declined')).toBe('decline');
    expect(decidePolicy(policy, inside, 'granted')).toBe('proceed');
    expect(decidePolicy(policy, outside, 'granted')).toBe('defer');
  });

  it('forced ignores consent, waits for the window until the deadline, then proceeds anyway', () => {
    const policy: Policy = { mode: 'forced', window: night, deadline: '2026-06-02T12:00:00Z' };
    expect(decidePolicy(policy, inside, 'declined')).toBe('proceed');
    expect(decidePolicy(policy, outside, 'declined')).toBe('defer');
    expect(decidePolicy(policy, t('11:59', '2026-06-02'), undefined)).toBe('defer');
    expect(decidePolicy(policy, t('12:00', '2026-06-02'), undefined)).toBe('proceed');
    expect(decidePolicy(policy, t('12:00', '2026-06-05'), 'declined')).toBe('proceed');
  });

  it('a deadline does not force auto or optional updates', () => {
    const late = t('12:00', '2026-06-09');
    expect(decidePolicy({ mode: 'auto', window: night, deadline: '2026-06-02T00:00:00Z' }, late, undefined)).toBe('defer');
    expect(decidePolicy({ mode: 'optional', deadline: '2026-06-02T00:00:00Z' }, late, undefined)).toBe('defer');
  });
});
