// Release manifest (docs/protocol.md#release-manifest), after SUIT's information model (RFC 9124).
import { z } from 'zod';
import { LIMITS } from '../limits.js';
import { deviceId, envelopeOf, nameId, sha256HexString, wireInteger, wireTime, type Envelope } from './common.js';

// Semantic Versioning 2.0.0 §2, §9, §10.
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export const payloadSchema = z.strictObject({
  sha256: sha256HexString,
  size: wireInteger,
  uri: z.string().max(2048).regex(/^https?:\/\/\S+$/),
});

export const releaseSigned = z.strictObject({
  _type: z.literal('release'),
  releaseId: nameId,
  version: z.string().max(64).regex(SEMVER),
  sequence: wireInteger,
  vendorId: nameId,
  classId: nameId,
  payload: payloadSchema,
  minSequence: wireInteger.optional(),
  // docs/protocol.md#owner-mode: the devices this manifest authorizes; required for an owner-mode device.
  devices: z.array(deviceId).min(1).max(LIMITS.devicesPerRelease).optional(),
  createdAt: wireTime,
  expiresAt: wireTime.optional(),
});

export const releaseEnvelope = envelopeOf(releaseSigned);
export type ReleaseSigned = z.infer<typeof releaseSigned>;
export type ReleaseEnvelope = Envelope<ReleaseSigned>;
export type Payload = z.infer<typeof payloadSchema>;
