// The root chain (docs/protocol.md#root-document; TUF client workflow 5.3): walk from the
// trusted root through each newer one; N+1 needs a threshold of N's root keys AND of its own,
// and a version of exactly N+1. Only the newest root's expiry matters.
import type { Ed25519 } from '../crypto/ed25519.js';
import { keyIdOf, decodePublicKey } from '../crypto/keys.js';
import { canonicalBytes } from '../encoding/canonical.js';
import { ProtocolError } from '../errors.js';
import { LIMITS } from '../limits.js';
import { rootEnvelope, type RootEnvelope, type RootSigned } from '../schemas/root.js';
import { parseWireTime } from '../time.js';
import { meetsThreshold, roleKeysOf } from './envelope.js';

/** Every key a root lists must be well formed and named by its own keyid. */
export function rootKeysConsistent(root: RootSigned): boolean {
  for (const [keyid, entry] of Object.entries(root.keys)) {
    const publicKey = decodePublicKey(entry.public);
    if (!publicKey || keyIdOf(publicKey) !== keyid) return false;
  }
  return true;
}

/** Verifies `next` against `trusted`; throws `root_invalid` unless it is a valid N+1. */
export function verifyNextRoot(trusted: RootSigned, next: RootEnvelope, ed25519: Ed25519): RootSigned {
  const parsed = rootEnvelope.safeParse(next);
  if (!parsed.success) throw new ProtocolError('root_invalid', 'root document does not match the schema');
  const candidate = parsed.data.signed;
  if (candidate.version !== trusted.version + 1) {
    throw new ProtocolError('root_invalid', `root version ${candidate.version} does not follow ${trusted.version}`);
  }
  if (!rootKeysConsistent(candidate)) throw new ProtocolError('root_invalid', 'root lists a key under a wrong keyid');
  const bytes = canonicalBytes(candidate);
  // TUF 5.3.4: signed by a threshold of the trusted root's root keys...
  if (!meetsThreshold(parsed.data, roleKeysOf(trusted, 'root'), ed25519, bytes)) {
    throw new ProtocolError('root_invalid', `root ${candidate.version} lacks the previous root threshold`);
  }
  // ...and by a threshold of its own root keys.
  if (!meetsThreshold(parsed.data, roleKeysOf(candidate, 'root'), ed25519, bytes)) {
    throw new ProtocolError('root_invalid', `root ${candidate.version} lacks its own root threshold`);
  }
  return candidate;
}

/**
 * Walks `chain` (oldest first) from `trusted`. Roots at or below the trusted version are
 * skipped (a device may already hold them); a gap or a bad signature is `root_invalid`;
 * an expired newest root is `root_expired`. Returns the newest trusted root.
 */
export function updateRoot(trusted: RootSigned, chain: readonly RootEnvelope[], nowSeconds: number, ed25519: Ed25519): RootSigned {
  if (chain.length > LIMITS.rootsPerMessage) throw new ProtocolError('root_invalid', 'root chain too long');
  let current = trusted;
  for (const next of chain) {
    const version = (next as { signed?: { version?: unknown } }).signed?.version;
    if (typeof version === 'number' && version <= current.version) continue;
    current = verifyNextRoot(current, next, ed25519);
  }
  const expiresAt = parseWireTime(current.expiresAt);
  if (expiresAt === undefined || nowSeconds >= expiresAt) {
    throw new ProtocolError('root_expired', `root ${current.version} expired at ${current.expiresAt}`);
  }
  return current;
}

/** Self-check of an initial (version 1 or provisioned) root: schema, key ids, own threshold. */
export function verifyTrustAnchor(envelope: RootEnvelope, ed25519: Ed25519): RootSigned {
  const parsed = rootEnvelope.safeParse(envelope);
  if (!parsed.success) throw new ProtocolError('root_invalid', 'root document does not match the schema');
  if (!rootKeysConsistent(parsed.data.signed)) throw new ProtocolError('root_invalid', 'root lists a key under a wrong keyid');
  if (!meetsThreshold(parsed.data, roleKeysOf(parsed.data.signed, 'root'), ed25519)) {
    throw new ProtocolError('root_invalid', 'root lacks its own root threshold');
  }
  return parsed.data.signed;
}
