// Wire times (docs/protocol.md#basics): RFC 3339 UTC with a `Z` and whole seconds, nothing else.
import { describe, expect, it } from 'vitest';
import { formatWireTime, parseWireTime } from '../../protocol/index.js';

describe('parseWireTime', () => {
  it('reads a UTC time with whole seconds', () => {
    expect(parseWireTime('2026-11-24T03:00:00Z')).toBe(Date.UTC(2026, 10, 24, 3, 0, 0) / 1000);
    expect(parseWireTime('1970-01-01T00:00:00Z')).toBe(0);
    expect(parseWireTime('2028-02-29T23:59:59Z')).toBe(Date.UTC(2028, 1, 29, 23, 59, 59) / 1000);
  });

  it.each([
    ['fractions', '2026-11-24T03:00:00.000Z'],
    ['fractions (one digit)', '2026-11-24T03:00:00.5Z'],
    ['an offset', '2026-11-24T03:00:00+00:00'],
    ['a non-zero offset', '2026-11-24T05:00:00+02:00'],
    ['a lowercase z', '2026-11-24T03:00:00z'],
    ['no zone', '2026-11-24T03:00:00'],
    ['a space for T', '2026-11-24 03:00:00Z'],
    ['no seconds', '2026-11-24T03:00Z'],
    ['February 30', '2026-02-30T00:00:00Z'],
    ['February 29 in a common year', '2027-02-29T00:00:00Z'],
    ['April 31', '2026-04-31T00:00:00Z'],
    ['month 13', '2026-13-01T00:00:00Z'],
    ['hour 24', '2026-11-24T24:00:00Z'],
    ['a leap second', '2026-12-31T23:59:60Z'],
    ['a date only', '2026-11-24'],
    ['an epoch number', '1790000000'],
    ['empty', ''],
  ])('refuses %s', (_what, text) => {
    expect(parseWireTime(text)).toBeUndefined();
  });
});

describe('formatWireTime', () => {
  it('writes whole seconds with Z and drops fractions', () => {
    expect(formatWireTime(0)).toBe('1970-01-01T00:00:00Z');
    expect(formatWireTime(1_780_272_000.999)).toBe('2026-06-01T00:00:00Z');
  });

  it('round-trips with parseWireTime', () => {
    for (const seconds of [0, 951_782_400, 1_780_272_000, 4_102_444_799]) expect(parseWireTime(formatWireTime(seconds))).toBe(seconds);
  });
});
