// Signed envelopes and role thresholds (docs/protocol.md#signed-envelope).
import { canonicalBytes } from '../encoding/canonical.js';
import { fromBase64url, toBase64url } from '../encoding/base64url.js';
import type { Ed25519 } from '../crypto/ed25519.js';
import type { SigningKey } from '../crypto/keys.js';
import { decodePublicKey } from '../crypto/keys.js';
import { UsageError } from '../errors.js';
import { LIMITS } from '../limits.js';
import type { Envelope, Signature } from '../schemas/common.js';
import type { Role, RootSigned } from '../schemas/root.js';

/** Signs `signed` with each key (canonical bytes), producing an envelope. */
export function signEnvelope<T>(signed: T, keys: readonly SigningKey[], ed25519: Ed25519): Envelope<T> {
  if (keys.length > LIMITS.signaturesPerEnvelope) throw new UsageError('ERR_TOO_MANY_KEYS', 'an envelope carries at most 16 signatures');
  const bytes = canonicalBytes(signed);
  return {
    signed,
    signatures: keys.map((key) => ({ keyid: key.keyid, sig: toBase64url(ed25519.sign(key.secretKey, bytes)) })),
  };
}

/** Adds signatures to an existing envelope (offline k-of-n signing, one officer at a time). */
export function addSignatures<T>(envelope: Envelope<T>, keys: readonly SigningKey[], ed25519: Ed25519): Envelope<T> {
  const fresh = signEnvelope(envelope.signed, keys, ed25519).signatures;
  const byKey = new Map<string, Signature>();
  for (const s of [...envelope.signatures, ...fresh]) byKey.set(s.keyid, s);
  return { signed: envelope.signed, signatures: [...byKey.values()] };
}

/** The keys a role may sign with, under a given root, as decoded public keys by keyid. */
export interface RoleKeys {
  readonly keys: ReadonlyMap<string, Uint8Array>;
  readonly threshold: number;
}

export function roleKeysOf(root: RootSigned, role: Role): RoleKeys {
  const keys = new Map<string, Uint8Array>();
  const { keyids, threshold } = root.roles[role];
  for (const keyid of keyids) {
    const entry = root.keys[keyid];
    const publicKey = entry ? decodePublicKey(entry.public) : undefined;
    if (publicKey) keys.set(keyid, publicKey);
  }
  return { keys, threshold };
}

/**
 * Counts valid signatures from distinct keyids the role lists. Unknown keyids are ignored,
 * a repeated keyid counts once, a malformed signature counts as invalid. `canonical` may be
 * passed when the caller already holds the canonical bytes.
 */
export function countValidSignatures(envelope: Envelope<unknown>, role: RoleKeys, ed25519: Ed25519, canonical?: Uint8Array): number {
  const bytes = canonical ?? canonicalBytes(envelope.signed);
  const counted = new Set<string>();
  for (const { keyid, sig } of envelope.signatures) {
    if (counted.has(keyid)) continue;
    const publicKey = role.keys.get(keyid);
    if (!publicKey) continue;
    const signature = fromBase64url(sig);
    if (!signature || signature.length !== 64) continue;
    if (ed25519.verify(publicKey, bytes, signature)) counted.add(keyid);
  }
  return counted.size;
}

export function meetsThreshold(envelope: Envelope<unknown>, role: RoleKeys, ed25519: Ed25519, canonical?: Uint8Array): boolean {
  return role.threshold >= 1 && countValidSignatures(envelope, role, ed25519, canonical) >= role.threshold;
}
