// Property test: for random seeds and messages the noble and node:crypto backends derive the
// same public key, produce identical signatures (RFC 8032 signing is deterministic), and
// each verifies the other's.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nobleEd25519 } from '../../../protocol/crypto/ed25519.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';

const seed = fc.uint8Array({ minLength: 32, maxLength: 32 });
const message = fc.uint8Array({ maxLength: 1024 });

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));

describe('noble and node Ed25519 backends', () => {
  it('derive the same public key, sign identically and verify each other', () => {
    fc.assert(
      fc.property(seed, message, (sk, msg) => {
        const pkNoble = nobleEd25519.publicKeyOf(sk);
        const pkNode = nodeEd25519.publicKeyOf(sk);
        expect(equalBytes(pkNoble, pkNode)).toBe(true);

        const sigNoble = nobleEd25519.sign(sk, msg);
        const sigNode = nodeEd25519.sign(sk, msg);
        expect(sigNoble.length).toBe(64);
        expect(equalBytes(sigNoble, sigNode)).toBe(true);

        expect(nobleEd25519.verify(pkNoble, msg, sigNode)).toBe(true);
        expect(nodeEd25519.verify(pkNode, msg, sigNoble)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('agree on rejecting a signature with one random bit flipped', () => {
    fc.assert(
      fc.property(seed, message, fc.nat({ max: 64 * 8 - 1 }), (sk, msg, bit) => {
        const pk = nodeEd25519.publicKeyOf(sk);
        const sig = Uint8Array.from(nodeEd25519.sign(sk, msg));
        sig[bit >> 3]! ^= 1 << (bit & 7);
        expect(nobleEd25519.verify(pk, msg, sig)).toBe(false);
        expect(nodeEd25519.verify(pk, msg, sig)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('agree on rejecting a message with one random bit flipped', () => {
    fc.assert(
      fc.property(seed, fc.uint8Array({ minLength: 1, maxLength: 1024 }), fc.nat(), (sk, msg, n) => {
        const pk = nobleEd25519.publicKeyOf(sk);
        const sig = nobleEd25519.sign(sk, msg);
        const bit = n % (msg.length * 8);
        const tampered = Uint8Array.from(msg);
        tampered[bit >> 3]! ^= 1 << (bit & 7);
        expect(nobleEd25519.verify(pk, tampered, sig)).toBe(false);
        expect(nodeEd25519.verify(pk, tampered, sig)).toBe(false);
      }),
      { numRuns: 200 },
    );
  });
});
