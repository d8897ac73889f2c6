// Building blocks shared by the message schemas (docs/protocol.md#basics).
import { z } from 'zod';
import { MAX_SAFE_WIRE_INTEGER, LIMITS } from '../limits.js';
import { DEVICE_ID, HEX_SHA256, NAME_ID } from '../ids.js';
import { parseWireTime } from '../time.js';

export const wireInteger = z.number().int().min(0).max(MAX_SAFE_WIRE_INTEGER);
export const deviceId = z.string().regex(DEVICE_ID);
export const nameId = z.string().regex(NAME_ID);
export const sha256HexString = z.string().regex(HEX_SHA256);
export const keyId = sha256HexString;
export const wireTime = z.string().max(20).refine((t) => parseWireTime(t) !== undefined, 'RFC 3339 UTC time, whole seconds');
// 64 signature bytes are 86 base64url characters; anything else is malformed but must not
// fail the schema (docs/protocol.md#signed-envelope: a malformed signature counts as invalid).
export const signature = z.strictObject({ keyid: z.string().max(64), sig: z.string().max(128) });

export function envelopeOf<T extends z.ZodType>(signed: T) {
  return z.strictObject({ signed, signatures: z.array(signature).max(LIMITS.signaturesPerEnvelope) });
}

export type Signature = z.infer<typeof signature>;
export interface Envelope<T> {
  signed: T;
  signatures: Signature[];
}
