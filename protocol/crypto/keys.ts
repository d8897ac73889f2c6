// Key ids and the wire form of public keys (docs/protocol.md#basics).
import { fromBase64url, toBase64url } from '../encoding/base64url.js';
import { sha256Hex } from './hash.js';

/** keyid = lowercase hex SHA-256 of the 32 raw public key bytes. */
export function keyIdOf(publicKey: Uint8Array): string {
  return sha256Hex(publicKey);
}

export function encodePublicKey(publicKey: Uint8Array): string {
  return toBase64url(publicKey);
}

/** Decodes a wire public key; undefined unless it is exactly 32 bytes of base64url. */
export function decodePublicKey(text: string): Uint8Array | undefined {
  const bytes = fromBase64url(text);
  return bytes && bytes.length === 32 ? bytes : undefined;
}

/** A signing key as roles hold it: seed plus derived public key and keyid. */
export interface SigningKey {
  readonly keyid: string;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}
