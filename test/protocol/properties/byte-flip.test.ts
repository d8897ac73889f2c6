// Property (issue 3): flipping any byte of a valid directive message never yields a plan the
// signers did not sign. Stated precisely:
// 1. In a minimal message, where every signature is needed (each envelope carries exactly its
//    threshold, and the chain walk uses every root carried), EVERY single-byte change is refused.
// 2. In a message with slack (surplus signatures, roots the device already holds), a change may
//    still be accepted, but only with the same directive, release, digest and action, and a root
//    that is either the original newest one or the one the device already trusted. The second
//    case is real: lowering the version of the last root in `roots` makes the device skip it,
//    exactly as if the (unsigned) roots array had been cut; it can never make a device trust a
//    root its predecessors did not sign.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleEd25519, type DirectiveCheck } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { KEYS, check, rotationChain, scenario, signRootWith, type Scenario } from '../../fixtures/trust-fixtures.js';

const chain = rotationChain();
const [v1, v2] = chain.envelopes as [typeof chain.envelopes[0], typeof chain.envelopes[0]];

/** v1 -> v2 walk; v2, the directive and the release each carry exactly their threshold. */
const minimal: Scenario = scenario({ trusted: v1, roots: [v2], directiveSigners: [KEYS.director[1]], directive: { rootVersion: 2 } });
/** Device already at v2; v1, v2 are carried anyway; v3 and every envelope carry surplus signatures. */
const slack: Scenario = scenario({
  trusted: v2,
  roots: [v1, v2, signRootWith(chain.bodies[2]!, [...KEYS.root, KEYS.attacker])],
  directiveSigners: [KEYS.attacker, KEYS.director[1], KEYS.director[0]],
  releaseSigners: [KEYS.release[1], KEYS.release[2], KEYS.release[0]],
  directive: { rootVersion: 3 },
});

function flipped(bytes: Uint8Array, index: number, mask: number): Uint8Array {
  const copy = bytes.slice();
  copy[index]! ^= mask;
  return copy;
}

function planOf(result: DirectiveCheck): unknown {
  return result.ok ? result.plan : undefined;
}

describe('byte flips', { timeout: 180_000 }, () => {
  it.each([[minimal], [slack]])('the unflipped scenarios yield a plan (control)', (s) => {
    expect(check(s.state, s.bytes).ok).toBe(true);
  });

  describe('minimal message: every change is refused', () => {
    // Bits 0-2 turn a character into a near neighbour (digit to digit, letter to letter) and bit 5
    // flips case or turns a digit into punctuation: the flips most likely to keep valid JSON.
    // Bits 6 and 7 are covered by the fast-check run below (they mostly break UTF-8 or syntax).
    it('every flip of bit 0, 1, 2 or 5 at every byte position (exhaustive, node backend)', () => {
      const accepted: string[] = [];
      for (let i = 0; i < minimal.bytes.length; i++) {
        for (const bit of [0, 1, 2, 5]) {
          if (check(minimal.state, flipped(minimal.bytes, i, 1 << bit)).ok) accepted.push(`byte ${i} bit ${bit}`);
        }
      }
      expect(accepted).toEqual([]);
    });

    it.each([
      { name: 'node', backend: nodeEd25519, numRuns: 3000 },
      { name: 'noble', backend: nobleEd25519, numRuns: 300 },
    ])('any byte value at any position (fast-check, $name)', ({ backend, numRuns }) => {
      fc.assert(
        fc.property(fc.nat(minimal.bytes.length - 1), fc.integer({ min: 1, max: 255 }), (index, mask) => {
          expect(check(minimal.state, flipped(minimal.bytes, index, mask), backend).ok).toBe(false);
        }),
        { numRuns },
      );
    });

    it('every proper prefix is refused (truncation)', () => {
      for (let length = 0; length < minimal.bytes.length; length++) {
        expect(check(minimal.state, minimal.bytes.subarray(0, length)).ok).toBe(false);
      }
    });
  });

  describe('message with slack: a change never alters what is installed or trusts an unsigned root', () => {
    const original = check(slack.state, slack.bytes);
    if (!original.ok) throw new Error('slack scenario must yield a plan');
    const trustedRoots = [slack.state.root, original.plan.root];
    const sameAuthority = (result: DirectiveCheck) => {
      if (!result.ok) return true;
      const { root, ...rest } = result.plan;
      const { root: _originalRoot, ...originalRest } = original.plan;
      expect(rest).toEqual(originalRest);
      expect(trustedRoots).toContainEqual(root);
      return true;
    };

    it('some flips are accepted (why the weaker form is needed): a byte inside a root the device already holds', () => {
      const text = new TextDecoder().decode(slack.bytes);
      const inV1 = text.indexOf(v1.signatures[2]!.sig) + 5;
      expect(planOf(check(slack.state, flipped(slack.bytes, inV1, 1)))).toEqual(original.plan);
    });

    it('lowering the last root version (a truncated chain) is refused: the directive names the root it was issued under', () => {
      const text = new TextDecoder().decode(slack.bytes);
      const at = text.lastIndexOf('"version":3') + '"version":'.length;
      const result = check(slack.state, flipped(slack.bytes, at, 0x01));
      expect(result.ok ? 'plan' : result.reason).toBe('root_invalid');
    });

    it('any byte value at any position yields a refusal or the same directive and release under a genuine root (fast-check)', () => {
      fc.assert(
        fc.property(fc.nat(slack.bytes.length - 1), fc.integer({ min: 1, max: 255 }), (index, mask) => {
          expect(sameAuthority(check(slack.state, flipped(slack.bytes, index, mask)))).toBe(true);
        }),
        { numRuns: 4000 },
      );
    });
  });

  describe('arbitrary input never crashes and never plans', () => {
    it('random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
          const result = check(minimal.state, bytes);
          expect(result.ok).toBe(false);
          expect(['bad_schema', 'too_large']).toContain(result.ok ? 'plan' : result.reason);
        }),
        { numRuns: 2000 },
      );
    });
    it('random JSON values', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expect(check(minimal.state, new TextEncoder().encode(JSON.stringify(value) ?? 'null')).ok).toBe(false);
        }),
        { numRuns: 1000 },
      );
    });
    it('the valid message with its envelopes swapped between fields', () => {
      const { directive, release, roots } = minimal.message;
      const swaps = [{ directive: release, release: directive, roots }, { directive, release, roots: [directive] }, { directive: roots[0], release, roots: [] }];
      for (const m of swaps) expect(check(minimal.state, new TextEncoder().encode(JSON.stringify(m))).ok).toBe(false);
    });
  });
});
