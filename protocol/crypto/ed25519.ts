// Ed25519 (RFC 8032) behind one small interface. This file holds the portable backend, noble
// (pure JS: the device default); the fast node:crypto backend for the servers' hot paths lives
// outside protocol/ (node-crypto/ed25519.ts) so that protocol/ imports no Node built-in. The two
// agree byte for byte: signing is deterministic, both apply passesStrictChecks and the same
// cofactorless equation. Verify never throws on hostile input, it returns false.
import * as noble from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { UsageError } from '../errors.js';
import { passesStrictChecks } from './strict-checks.js';

export interface Ed25519 {
  readonly name: 'noble' | 'node';
  /** Signs with a 32-byte RFC 8032 secret seed. */
  sign(secretKey: Uint8Array, message: Uint8Array): Uint8Array;
  /** Strict verification; false for any malformed key or signature. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  publicKeyOf(secretKey: Uint8Array): Uint8Array;
}

/** Throws ERR_SECRET_KEY unless `secretKey` is a 32-byte seed (shared by every backend). */
export function requireSeed(secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== 32) {
    throw new UsageError('ERR_SECRET_KEY', 'an Ed25519 secret key is 32 bytes');
  }
}

// Group order L (RFC 8032 §5.1).
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

function littleEndianToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/**
 * RFC 8032 §5.1.7 with the cofactorless equation [S]B = R + [k]A, checked as
 * encode([S]B - [k]A) == R: the exact check OpenSSL (node:crypto) makes, so the two backends
 * agree even on crafted mixed-order R or A (noble's own verify multiplies by the cofactor).
 */
function verifyCofactorless(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const A = noble.Point.fromBytes(publicKey, false);
  const r = signature.subarray(0, 32);
  const s = littleEndianToBigInt(signature.subarray(32, 64));
  const input = new Uint8Array(64 + message.length);
  input.set(r, 0);
  input.set(publicKey, 32);
  input.set(message, 64);
  const hashed = sha512(input);
  const k = littleEndianToBigInt(hashed) % L;
  const sB = s === 0n ? noble.Point.ZERO : noble.Point.BASE.multiply(s, false);
  const candidate = sB.subtract(A.multiplyUnsafe(k)).toBytes();
  if (candidate.length !== 32) return false;
  let diff = 0;
  for (let i = 0; i < 32; i++) diff |= candidate[i]! ^ r[i]!;
  return diff === 0;
}

// Synchronous noble needs a SHA-512; @noble/hashes keeps this path free of Node built-ins.
noble.hashes.sha512 = sha512;

export const nobleEd25519: Ed25519 = {
  name: 'noble',
  sign(secretKey, message) {
    requireSeed(secretKey);
    return noble.sign(message, secretKey);
  },
  verify(publicKey, message, signature) {
    if (!passesStrictChecks(publicKey, signature)) return false;
    try {
      return verifyCofactorless(publicKey, message, signature);
    } catch {
      return false;
    }
  },
  publicKeyOf(secretKey) {
    requireSeed(secretKey);
    return noble.getPublicKey(secretKey);
  },
};
