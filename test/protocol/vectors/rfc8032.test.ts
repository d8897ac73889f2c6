// Runs the RFC 8032 §7.1 Ed25519 test vectors against both backends: key derivation,
// byte-exact deterministic signatures, verification, and rejection after a one-bit change.
// Data: test/vectors/rfc8032/section-7.1.json.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nobleEd25519, type Ed25519 } from '../../../protocol/crypto/ed25519.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';

interface Rfc8032Case {
  name: string;
  messageLength: number;
  secretKey: string;
  publicKey: string;
  message: string;
  signature: string;
}

const data = JSON.parse(
  readFileSync(new URL('../../vectors/rfc8032/section-7.1.json', import.meta.url), 'utf8'),
) as { cases: Rfc8032Case[] };

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function flipBit(b: Uint8Array, byteIndex: number, bit: number): Uint8Array {
  const out = Uint8Array.from(b);
  out[byteIndex]! ^= 1 << bit;
  return out;
}

const backends: Ed25519[] = [nobleEd25519, nodeEd25519];

describe('RFC 8032 §7.1 vectors', () => {
  it('holds TEST 1, 2, 3, 1024 and SHA(abc) with the published lengths', () => {
    expect(data.cases.map((c) => c.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
    for (const c of data.cases) {
      expect(bytes(c.secretKey).length).toBe(32);
      expect(bytes(c.publicKey).length).toBe(32);
      expect(bytes(c.signature).length).toBe(64);
      expect(bytes(c.message).length).toBe(c.messageLength);
    }
  });
});

describe.each(backends)('RFC 8032 §7.1 with the $name backend', (ed) => {
  describe.each(data.cases)('$name', (c) => {
    const sk = bytes(c.secretKey);
    const pk = bytes(c.publicKey);
    const msg = bytes(c.message);
    const sig = bytes(c.signature);

    it('derives the public key from the secret key', () => {
      expect(hex(ed.publicKeyOf(sk))).toBe(c.publicKey);
    });

    it('signs to the published signature byte for byte', () => {
      expect(hex(ed.sign(sk, msg))).toBe(c.signature);
    });

    it('verifies the published signature', () => {
      expect(ed.verify(pk, msg, sig)).toBe(true);
    });

    it('rejects the signature after one bit of the message changes', () => {
      // TEST 1 signs the empty message, which has no bit to flip: append one byte instead.
      const variants = msg.length === 0 ? [Uint8Array.of(0)] : [flipBit(msg, 0, 0), flipBit(msg, msg.length - 1, 7)];
      for (const m of variants) expect(ed.verify(pk, m, sig)).toBe(false);
    });

    it.each([
      ['R, first byte, bit 0', 0, 0],
      ['R, last byte, bit 6', 31, 6],
      ['S, first byte, bit 0', 32, 0],
      ['S, last byte, bit 3', 63, 3],
      ['S, last byte, bit 7', 63, 7],
    ])('rejects the signature after one bit of it changes (%s)', (_label, byteIndex, bit) => {
      expect(ed.verify(pk, msg, flipBit(sig, byteIndex, bit))).toBe(false);
    });

    it('rejects the signature under a public key with one bit changed', () => {
      expect(ed.verify(flipBit(pk, 0, 0), msg, sig)).toBe(false);
    });
  });
});
