// base64url without padding (RFC 4648 §5), strict: one encoding per byte string.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64url, toBase64url } from '../../../protocol/index.js';

describe('base64url', () => {
  it('matches RFC 4648 §10 test vectors (url alphabet, no padding)', () => {
    const cases: [string, string][] = [['', ''], ['f', 'Zg'], ['fo', 'Zm8'], ['foo', 'Zm9v'], ['foob', 'Zm9vYg'], ['fooba', 'Zm9vYmE'], ['foobar', 'Zm9vYmFy']];
    for (const [text, encoded] of cases) {
      expect(toBase64url(new TextEncoder().encode(text))).toBe(encoded);
      expect(new TextDecoder().decode(fromBase64url(encoded))).toBe(text);
    }
    expect(toBase64url(Uint8Array.from([0xfb, 0xff]))).toBe('-_8');
  });

  it('round-trips any bytes and agrees with Node', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const text = toBase64url(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64url'));
      expect(fromBase64url(text)).toEqual(bytes);
    }), { numRuns: 500 });
  });

  it.each([
    ['padding', 'Zg=='],
    ['standard alphabet +', 'a+b'],
    ['standard alphabet /', 'a/b'],
    ['whitespace', 'Zm9 v'],
    ['a newline', 'Zm9v\n'],
    ['a length of 4n+1', 'Zm9vY'],
    ['a length of 4n+1 whose extra character carries only zero bits', 'Zm9vA'],
    ['non-zero trailing bits (Zh would also be "f")', 'Zh'],
    ['non-ASCII', 'Zm9vé'],
  ])('refuses %s', (_what, text) => {
    expect(fromBase64url(text)).toBeUndefined();
  });

  it('every 2- and 3-character tail has exactly one accepted spelling per byte value', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const seen = new Map<string, string>();
    for (const a of alphabet) {
      for (const b of alphabet) {
        const bytes = fromBase64url(a + b);
        if (!bytes) continue;
        const key = bytes.join(',');
        expect(seen.has(key), `${a}${b} and ${seen.get(key)} decode alike`).toBe(false);
        seen.set(key, a + b);
      }
    }
    expect(seen.size).toBe(256);
  });
});
