// Root document (docs/protocol.md#root-document): which keys hold every role, with thresholds.
import { z } from 'zod';
import { LIMITS } from '../limits.js';
import { envelopeOf, keyId, wireInteger, wireTime, type Envelope } from './common.js';

export const ROLES = ['root', 'release', 'director'] as const;
export type Role = (typeof ROLES)[number];

const roleKeys = z.strictObject({
  keyids: z.array(keyId).min(1).max(LIMITS.keysPerRoot),
  threshold: wireInteger.min(1),
});

export const rootSigned = z.strictObject({
  _type: z.literal('root'),
  specVersion: z.literal(1),
  version: wireInteger.min(1),
  expiresAt: wireTime,
  keys: z.record(keyId, z.strictObject({ keytype: z.literal('ed25519'), public: z.string().max(64) }))
    .refine((keys) => Object.keys(keys).length <= LIMITS.keysPerRoot, 'too many keys'),
  roles: z.strictObject({ root: roleKeys, release: roleKeys, director: roleKeys }),
}).refine((root) => ROLES.every((role) => root.roles[role].threshold <= root.roles[role].keyids.length), 'threshold above key count');

export const rootEnvelope = envelopeOf(rootSigned);
export type RootSigned = z.infer<typeof rootSigned>;
export type RootEnvelope = Envelope<RootSigned>;
