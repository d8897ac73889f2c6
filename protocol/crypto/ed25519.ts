// Ed25519 (RFC 8032) behind one small interface with two backends that agree byte for byte:
// noble (pure JS, portable: the device default) and node:crypto (fast: the server's hot paths).
// Signing is deterministic, so both produce identical signatures; verify never throws on
// hostile input, it returns false.
import * as noble from '@noble/ed25519';
import { sha512 } from '@noble/hashes/sha2.js';
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
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

function requireSeed(secretKey: Uint8Array): void {
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

// DER prefixes wrapping raw Ed25519 keys (RFC 8410), so node:crypto can take raw bytes.
const PKCS8_PREFIX = Uint8Array.from([0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20]);
const SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);

function concat(a: Uint8Array, b: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

// Key objects are costly to build; servers sign with one director key and verify many
// reports per device key, so both are cached (bounded).
const MAX_CACHED_KEYS = 50_000;
const privateKeys = new Map<string, KeyObject>();
const publicKeys = new Map<string, KeyObject>();

function cached(cache: Map<string, KeyObject>, raw: Uint8Array, make: () => KeyObject): KeyObject {
  const id = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1');
  let key = cache.get(id);
  if (!key) {
    if (cache.size >= MAX_CACHED_KEYS) cache.clear();
    key = make();
    cache.set(id, key);
  }
  return key;
}

function nodePrivateKey(secretKey: Uint8Array): KeyObject {
  return cached(privateKeys, secretKey, () => createPrivateKey({ key: concat(PKCS8_PREFIX, secretKey), format: 'der', type: 'pkcs8' }));
}

function nodePublicKey(publicKey: Uint8Array): KeyObject {
  return cached(publicKeys, publicKey, () => createPublicKey({ key: concat(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' }));
}

export const nodeEd25519: Ed25519 = {
  name: 'node',
  sign(secretKey, message) {
    requireSeed(secretKey);
    return new Uint8Array(nodeSign(null, message, nodePrivateKey(secretKey)));
  },
  verify(publicKey, message, signature) {
    if (!passesStrictChecks(publicKey, signature)) return false;
    try {
      return nodeVerify(null, message, nodePublicKey(publicKey), signature);
    } catch {
      return false;
    }
  },
  publicKeyOf(secretKey) {
    requireSeed(secretKey);
    const jwk = nodePrivateKey(secretKey).export({ format: 'jwk' });
    return new Uint8Array(Buffer.from(jwk.x!, 'base64url'));
  },
};
