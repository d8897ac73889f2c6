// Encoding checks both Ed25519 backends apply before verifying, so that they decide every
// input the same way: RFC 8032 §5.1.7 strict decoding (canonical S and point encodings)
// plus the libsodium policy of refusing small-order public keys.
import { Point } from '@noble/ed25519';

// Group order L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = new Uint8Array([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
]);
// Field prime p = 2^255 - 19, little-endian.
const P_LE = new Uint8Array(32).fill(0xff);
P_LE[0] = 0xed;
P_LE[31] = 0x7f;

/** a < b for 32-byte little-endian integers. */
function lessThanLE(a: Uint8Array, aOffset: number, b: Uint8Array, mask31 = 0xff): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = i === 31 ? a[aOffset + i]! & mask31 : a[aOffset + i]!;
    const y = b[i]!;
    if (x !== y) return x < y;
  }
  return false;
}

/** RFC 8032 §5.1.7: S must be below L (rejects the malleable S + L). */
export function hasCanonicalS(signature: Uint8Array): boolean {
  return signature.length === 64 && lessThanLE(signature, 32, L_LE);
}

/** The 255-bit y coordinate must be below p (RFC 8032 §5.1.3 step 1). */
export function hasCanonicalY(encoded: Uint8Array, offset = 0): boolean {
  return lessThanLE(encoded, offset, P_LE, 0x7f);
}

const publicKeyVerdicts = new Map<string, boolean>();
const MAX_CACHED_VERDICTS = 100_000;

function decodeStrict(publicKey: Uint8Array): InstanceType<typeof Point> | undefined {
  if (publicKey.length !== 32 || !hasCanonicalY(publicKey)) return undefined;
  try {
    return Point.fromBytes(publicKey, false);
  } catch {
    return undefined;
  }
}

/**
 * A public key a signature may verify under: it decodes canonically to a curve point that is
 * not of small order (libsodium's policy). Cached per key: a fleet verifies many reports per
 * device key. Both backends then apply the same cofactorless equation, so they agree even on a
 * key with a torsion component; registration refuses those (isPrimeOrderPublicKey).
 */
export function isAcceptablePublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false;
  const cacheKey = String.fromCharCode(...publicKey);
  const known = publicKeyVerdicts.get(cacheKey);
  if (known !== undefined) return known;
  const point = decodeStrict(publicKey);
  const verdict = point !== undefined && !point.isSmallOrder();
  if (publicKeyVerdicts.size >= MAX_CACHED_VERDICTS) publicKeyVerdicts.clear();
  publicKeyVerdicts.set(cacheKey, verdict);
  return verdict;
}

/**
 * The registration policy: acceptable AND in the prime-order subgroup (no torsion component).
 * A scalar multiplication by L (~1 ms here), so it runs once per key at registration, not per
 * signature.
 */
export function isPrimeOrderPublicKey(publicKey: Uint8Array): boolean {
  if (!isAcceptablePublicKey(publicKey)) return false;
  return decodeStrict(publicKey)?.isTorsionFree() === true;
}

/** Checks shared by both backends before the curve equation. */
export function passesStrictChecks(publicKey: Uint8Array, signature: Uint8Array): boolean {
  return signature.length === 64 && hasCanonicalS(signature) && hasCanonicalY(signature, 0) && isAcceptablePublicKey(publicKey);
}
