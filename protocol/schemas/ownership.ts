// Ownership record (docs/protocol.md#owner-mode): a delegation from the root to one owner
// key for one device (TUF delegated targets, restricted to a single device). Signed by the root
// role; a higher `version` enrols, transfers or revokes.
import { z } from 'zod';
import { decodePublicKey } from '../crypto/keys.js';
import { deviceId, envelopeOf, wireInteger, wireTime, type Envelope } from './common.js';

export const ownerKeySchema = z.strictObject({
  keytype: z.literal('ed25519'),
  public: z.string().max(64).refine((text) => decodePublicKey(text) !== undefined, '32 bytes of base64url'),
});

export const ownershipSigned = z.strictObject({
  _type: z.literal('ownership'),
  specVersion: z.literal(1),
  deviceId,
  version: wireInteger.min(1),
  // Absent: the owner key is revoked and the device installs nothing until a later record names one.
  owner: ownerKeySchema.optional(),
  issuedAt: wireTime,
});

export const ownershipEnvelope = envelopeOf(ownershipSigned);
export type OwnerKey = z.infer<typeof ownerKeySchema>;
export type OwnershipSigned = z.infer<typeof ownershipSigned>;
export type OwnershipEnvelope = Envelope<OwnershipSigned>;
