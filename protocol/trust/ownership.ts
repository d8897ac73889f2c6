// Owner mode (docs/protocol.md#owner-mode): which ownership record a device holds after a
// message, and the key set an owner-mode device checks release manifests against. Pure: the
// caller persists the record only after acting on the plan, as it does the root.
import type { Ed25519 } from '../crypto/ed25519.js';
import { decodePublicKey, keyIdOf } from '../crypto/keys.js';
import { ProtocolError } from '../errors.js';
import type { OwnershipEnvelope, OwnershipSigned } from '../schemas/ownership.js';
import type { RootSigned } from '../schemas/root.js';
import { meetsThreshold, roleKeysOf, type RoleKeys } from './envelope.js';

/**
 * The ownership record in force for `deviceId` once `offered` (from the message) is weighed
 * against `stored`: signed by the root role's threshold of the newest root, naming this device,
 * and not older than the one held (an equal version keeps the stored record). Versions may skip:
 * each record stands on the root's signatures alone, not on its predecessor's.
 */
export function updateOwnership(
  root: RootSigned,
  stored: OwnershipSigned | undefined,
  offered: OwnershipEnvelope | undefined,
  deviceId: string,
  ed25519: Ed25519,
): OwnershipSigned | undefined {
  if (!offered) return stored;
  const record = offered.signed;
  // TUF delegation: only the root role delegates ownership (not release, not the online director).
  if (!meetsThreshold(offered, roleKeysOf(root, 'root'), ed25519)) {
    throw new ProtocolError('ownership_signature', 'ownership record lacks the root threshold');
  }
  if (record.deviceId !== deviceId) throw new ProtocolError('ownership_not_addressed', `ownership record for ${record.deviceId}`);
  if (stored && record.version < stored.version) {
    throw new ProtocolError('ownership_replayed', `ownership version ${record.version} < held ${stored.version}`);
  }
  if (stored && record.version === stored.version) return stored;
  return record;
}

/** The owner's key as a one-key role (threshold 1); undefined once revoked. */
export function ownerKeysOf(ownership: OwnershipSigned): RoleKeys | undefined {
  const publicKey = ownership.owner ? decodePublicKey(ownership.owner.public) : undefined;
  if (!publicKey) return undefined;
  return { keys: new Map([[keyIdOf(publicKey), publicKey]]), threshold: 1 };
}
