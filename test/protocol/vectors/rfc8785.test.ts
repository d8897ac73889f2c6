// Runs the RFC 8785 (JCS) reference test data against our canonical JSON.
// Data: test/vectors/rfc8785/jcs-testdata.json (cyberphone/json-canonicalization testdata).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../protocol/errors.js';
import { canonicalBytes, canonicalJson, canonicalJsonUnchecked } from '../../../protocol/encoding/canonical.js';

interface JcsCase {
  name: string;
  floatLiterals: string[];
  input: string;
  output: string;
}

const data = JSON.parse(
  readFileSync(new URL('../../vectors/rfc8785/jcs-testdata.json', import.meta.url), 'utf8'),
) as { source: string; cases: JcsCase[] };

// The signed-body rule (integers in [0, 2^53-1]) refuses only `values`: its numbers include
// 333333333.33333329 and 1E30. `structures` writes 56.0, which JSON.parse makes the integer 56.
const REFUSED_BY_SIGNED_BODY_RULE = new Set(['values']);

describe('RFC 8785 reference test data', () => {
  it('holds the six published cases', () => {
    expect(data.cases.map((c) => c.name)).toEqual(['arrays', 'french', 'structures', 'unicode', 'values', 'weird']);
  });

  describe.each(data.cases)('$name', (c) => {
    // The upstream output files end without a newline; trimEnd guards a re-copy that adds one.
    const expected = c.output.trimEnd();

    it('canonicalJsonUnchecked(JSON.parse(input)) equals the published output', () => {
      expect(canonicalJsonUnchecked(JSON.parse(c.input))).toBe(expected);
    });

    it('is a fixed point: canonicalizing the output again changes nothing', () => {
      expect(canonicalJsonUnchecked(JSON.parse(expected))).toBe(expected);
    });

    if (REFUSED_BY_SIGNED_BODY_RULE.has(c.name)) {
      it('canonicalJson refuses it with bad_schema (non-integer or out-of-range numbers)', () => {
        let caught: unknown;
        try {
          canonicalJson(JSON.parse(c.input));
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(ProtocolError);
        expect((caught as ProtocolError).code).toBe('bad_schema');
      });
    } else {
      it('canonicalJson and canonicalBytes agree with the published output', () => {
        const value: unknown = JSON.parse(c.input);
        expect(canonicalJson(value)).toBe(expected);
        expect(Buffer.from(canonicalBytes(value)).equals(Buffer.from(expected, 'utf8'))).toBe(true);
      });
    }
  });
});
