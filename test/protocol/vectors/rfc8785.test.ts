// Runs the RFC 8785 (JCS) reference test data against our canonical JSON.
// Data: test/vectors/rfc8785/jcs-testdata.json (early revisions of cyberphone/json-canonicalization testdata).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../protocol/errors.js';
import { canonicalBytes, canonicalJson, canonicalJsonUnchecked } from '../../../protocol/encoding/canonical.js';

interface JcsCase {
  name: string;
  source: string;
  floatLiterals?: string[];
  input: string;
  output: string;
}

const data = JSON.parse(
  readFileSync(new URL('../../vectors/rfc8785/jcs-testdata.json', import.meta.url), 'utf8'),
) as { source: string; cases: JcsCase[] };

// Each pair was read from the file index at one commit; the name is <file>@<short commit>.
const CASE_NAMES = [
  'french@b01b023',
  'simpleString@987e82e',
  'structures@72a2163',
  'unicode@ff22567',
  'values@72a2163',
  'values@1e2733f',
  'weird@cb7f6dc',
  'weird@d84494f',
  'weird@77917fb',
];

// Only these inputs write numbers with a fraction or exponent (see floatLiterals).
const CASES_WITH_FLOAT_LITERALS = ['structures@72a2163', 'values@72a2163', 'values@1e2733f'];

// docs/protocol.md#basics: numbers in signed bodies are integers in [0, 2^53-1]. The values cases
// hold 4.50, 2e-3, 1e-27 (non-integers) and 1E30 (above 2^53-1). No case holds a negative
// number. structures writes 56.0, which JSON.parse makes the integer 56, so it is accepted.
const REFUSED_BY_SIGNED_BODY_RULE = new Set(['values@72a2163', 'values@1e2733f']);

const SOURCE = /^cyberphone\/json-canonicalization@([0-9a-f]{40}):testdata\/\{input,output\}\/(\w+)\.json$/;

/** Number tokens of a JSON text as written, in order; string contents are skipped. */
function numberLiterals(text: string): string[] {
  const found: string[] = [];
  const token = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i += 1;
      while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i += 1;
    } else if (/[-\d]/.test(text[i]!)) {
      token.lastIndex = i;
      const match = token.exec(text);
      if (match === null) throw new Error(`not a number at ${i}`);
      found.push(match[0]);
      i = token.lastIndex;
    } else {
      i += 1;
    }
  }
  return found;
}

describe('RFC 8785 reference test data', () => {
  it('holds the pairs collected from the file index, each with its repository, commit and path', () => {
    expect(data.cases.map((c) => c.name)).toEqual(CASE_NAMES);
    for (const c of data.cases) {
      const match = SOURCE.exec(c.source);
      expect(match, c.name).not.toBeNull();
      expect(`${match![2]}@${match![1]!.slice(0, 7)}`).toBe(c.name);
    }
  });

  it('records floatLiterals exactly as the inputs write them', () => {
    expect(data.cases.filter((c) => c.floatLiterals !== undefined).map((c) => c.name)).toEqual(CASES_WITH_FLOAT_LITERALS);
    for (const c of data.cases) {
      expect(numberLiterals(c.input).filter((n) => /[.eE]/.test(n)), c.name).toEqual(c.floatLiterals ?? []);
    }
  });

  describe.each(data.cases)('$name', (c) => {
    it('canonicalJsonUnchecked(JSON.parse(input)) equals the published output', () => {
      expect(canonicalJsonUnchecked(JSON.parse(c.input))).toBe(c.output);
    });

    it('is a fixed point: canonicalizing the output again changes nothing', () => {
      expect(canonicalJsonUnchecked(JSON.parse(c.output))).toBe(c.output);
    });

    if (REFUSED_BY_SIGNED_BODY_RULE.has(c.name)) {
      it('canonicalJson and canonicalBytes refuse it with bad_schema (non-integer or unsafe numbers)', () => {
        for (const fn of [canonicalJson, canonicalBytes]) {
          let caught: unknown;
          try {
            fn(JSON.parse(c.input));
          } catch (error) {
            caught = error;
          }
          expect(caught).toBeInstanceOf(ProtocolError);
          expect((caught as ProtocolError).code).toBe('bad_schema');
        }
      });
    } else {
      it('canonicalJson and canonicalBytes agree with the published output', () => {
        const value: unknown = JSON.parse(c.input);
        expect(canonicalJson(value)).toBe(c.output);
        expect(Buffer.from(canonicalBytes(value)).equals(Buffer.from(c.output, 'utf8'))).toBe(true);
      });
    }
  });
});
