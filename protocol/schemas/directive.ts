// Directive (docs/protocol.md#directive) and the directive message a device receives.
import { z } from 'zod';
import { LIMITS } from '../limits.js';
import { deviceId, envelopeOf, nameId, sha256HexString, wireInteger, wireTime, type Envelope } from './common.js';
import { ownershipEnvelope, type OwnershipEnvelope } from './ownership.js';
import { releaseEnvelope, type ReleaseEnvelope } from './release.js';
import { rootEnvelope, type RootEnvelope } from './root.js';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;

export const policySchema = z.strictObject({
  mode: z.enum(['auto', 'optional', 'forced']),
  deadline: wireTime.optional(),
  window: z.strictObject({ start: z.string().regex(HH_MM), end: z.string().regex(HH_MM) }).optional(),
});

export const directiveSigned = z.strictObject({
  _type: z.literal('directive'),
  deviceId,
  rolloutId: nameId,
  wave: wireInteger,
  action: z.enum(['install', 'cancel']),
  manifestSha256: sha256HexString,
  counter: wireInteger,
  rootVersion: wireInteger.min(1),
  issuedAt: wireTime,
  expiresAt: wireTime,
  policy: policySchema,
});

export const directiveEnvelope = envelopeOf(directiveSigned);

export const directiveMessageSchema = z.strictObject({
  directive: directiveEnvelope,
  release: releaseEnvelope,
  roots: z.array(rootEnvelope).max(LIMITS.rootsPerMessage),
  // docs/protocol.md#owner-mode: the device's newest ownership record, for owner-mode devices.
  ownership: ownershipEnvelope.optional(),
});

export type Policy = z.infer<typeof policySchema>;
export type DirectiveSigned = z.infer<typeof directiveSigned>;
export type DirectiveEnvelope = Envelope<DirectiveSigned>;
export interface DirectiveMessage {
  directive: DirectiveEnvelope;
  release: ReleaseEnvelope;
  roots: RootEnvelope[];
  ownership?: OwnershipEnvelope;
}
