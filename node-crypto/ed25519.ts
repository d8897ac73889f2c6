// The node:crypto Ed25519 backend (OpenSSL): fast, for the servers' hot paths (signing
// directives, verifying status reports) and Node tools. It lives outside protocol/ so the
// device-portable contract imports no Node built-in (docs/design.md#layout); it implements
// protocol's Ed25519 interface and applies the same strict checks as the noble backend, so the
// two decide every input the same way.
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { passesStrictChecks, requireSeed, type Ed25519 } from '../protocol/index.js';

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
