// Properties of canonical JSON (RFC 8785) and of the signed-body number rule (docs/protocol.md#basics): key order never changes the canonical bytes; a float, a negative or an unsafe
// integer anywhere in a signed body is bad_schema, in the canonicalizer and in the device check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_SAFE_WIRE_INTEGER, ProtocolError, canonicalJson, canonicalJsonUnchecked, toBase64url, utf8 } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { check, clone, encodeMessage, rotationChain, scenario, KEYS, type LooseJson } from '../../fixtures/trust-fixtures.js';

/** JSON whose numbers are all wire integers (what a signed body may hold). */
const wireJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.string({ unit: 'grapheme' }),
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'grapheme', maxLength: 6 }), tie('value'), { maxKeys: 6 }),
  ),
})).value;

/** Same value, object keys shuffled recursively by `seed` (Object.fromEntries keeps `__proto__` an own key). */
function shuffled(value: unknown, seed: number): unknown {
  if (Array.isArray(value)) return value.map((item, i) => shuffled(item, seed * 31 + i));
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.abs((seed * 7919 + i * 104729) % (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return Object.fromEntries(entries.map(([k, v], i) => [k, shuffled(v, seed * 17 + i)]));
}

/** Puts `x` somewhere inside `value`, following `path` (each step picks a child or a new slot). */
function insertAt(value: unknown, path: readonly number[], x: unknown): unknown {
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const i = (head ?? 0) % (value.length + 1);
    if (head === undefined || i === value.length) return [...value, x];
    return value.map((item, k) => (k === i ? insertAt(item, rest, x) : item));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    const i = (head ?? 0) % (entries.length + 1);
    if (head === undefined || i === entries.length) return Object.fromEntries([...entries, [`inserted${entries.length}`, x]]);
    return Object.fromEntries(entries.map(([k, v], n) => [k, n === i ? insertAt(v, rest, x) : v]));
  }
  return x;
}

const nonInteger = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Number.isInteger(d));
const outOfRange = fc.oneof(fc.integer({ min: Number.MIN_SAFE_INTEGER, max: -1 }), fc.constantFrom(MAX_SAFE_WIRE_INTEGER + 1, 2 ** 60, 1e21, -(2 ** 53)));
const badNumber = fc.oneof(nonInteger, outOfRange);

function codeOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    return error instanceof ProtocolError ? error.code : `unexpected ${String(error)}`;
  }
}

describe('canonical JSON properties', () => {
  it('is stable under object key order (recursively)', () => {
    fc.assert(fc.property(wireJson, fc.integer(), (value, seed) => {
      expect(canonicalJson(shuffled(value, seed))).toBe(canonicalJson(value));
    }), { numRuns: 1000 });
  });

  it('is stable under key order for any JSON, floats included (RFC 8785 itself)', () => {
    fc.assert(fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
      expect(canonicalJsonUnchecked(shuffled(value, seed))).toBe(canonicalJsonUnchecked(value));
    }), { numRuns: 1000 });
  });

  it('is idempotent and parses back to an equal value', () => {
    fc.assert(fc.property(wireJson, (value) => {
      const text = canonicalJson(value);
      expect(canonicalJson(JSON.parse(text))).toBe(text);
      expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)));
    }), { numRuns: 1000 });
  });

  it('refuses a float, a negative or an unsafe integer anywhere in a signed body (bad_schema)', () => {
    fc.assert(fc.property(wireJson, fc.array(fc.nat(), { maxLength: 6 }), badNumber, (value, path, bad) => {
      const body = insertAt(value, path, bad);
      expect(codeOf(() => canonicalJson(body))).toBe('bad_schema');
      // The same value is valid RFC 8785 input: the refusal is the signed-body rule, not JCS.
      expect(codeOf(() => canonicalJsonUnchecked(body))).toBe('ok');
    }), { numRuns: 1000 });
  });
});

describe('the device check refuses a bad number anywhere in the message (bad_schema)', () => {
  const chain = rotationChain();
  // A message with a root in it, so root bodies are covered too.
  const base = scenario({ roots: [chain.envelopes[1]!], directiveSigners: [KEYS.director[1]], directive: { rootVersion: 2 } });
  const parts = ['directive.signed', 'release.signed', 'roots.0.signed', 'directive', 'release', 'roots', ''] as const;

  it('control: the base message yields a plan', () => {
    expect(check(base.state, base.bytes).ok).toBe(true);
  });

  it('a float, negative or unsafe integer placed anywhere is bad_schema', () => {
    fc.assert(fc.property(fc.constantFrom(...parts), fc.array(fc.nat(), { maxLength: 5 }), badNumber, (part, path, bad) => {
      const wrapper: LooseJson = { message: clone(base.message) };
      let parent: LooseJson = wrapper;
      let key = 'message';
      for (const k of part === '' ? [] : part.split('.')) {
        parent = parent[key];
        key = k;
      }
      parent[key] = insertAt(parent[key], path, bad);
      const result = check(base.state, encodeMessage(wrapper.message));
      expect(result.ok ? 'plan' : result.reason).toBe('bad_schema');
    }), { numRuns: 1500 });
  });

  it('a float in an integer field is bad_schema even when the real key signs it', () => {
    // An insider with the director or release key signs the float body directly (the
    // protocol builders would refuse to): the number rule, not the signature, stops it.
    const fields = [['directive', 'wave', KEYS.director[1]], ['directive', 'counter', KEYS.director[1]], ['release', 'sequence', KEYS.release[0]]] as const;
    fc.assert(fc.property(fc.constantFrom(...fields), nonInteger, ([envelope, field, key], x) => {
      const message = clone(base.message) as LooseJson;
      message[envelope].signed[field] = x;
      const sig = toBase64url(nodeEd25519.sign(key.secretKey, utf8(canonicalJsonUnchecked(message[envelope].signed))));
      message[envelope].signatures = [{ keyid: key.keyid, sig }];
      const result = check(base.state, encodeMessage(message));
      expect(result.ok ? 'plan' : result.reason).toBe('bad_schema');
    }), { numRuns: 300 });
  });
});
