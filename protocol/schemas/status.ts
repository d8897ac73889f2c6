// Status report (docs/protocol.md#status-report), signed by the device's own key.
import { z } from 'zod';
import { REASON_CODES } from '../errors.js';
import { LIMITS } from '../limits.js';
import { REPORTED_STATES } from '../states.js';
import { codePointLength } from '../status/detail.js';
import { deviceId, envelopeOf, nameId, wireInteger, wireTime, type Envelope } from './common.js';

/** docs/protocol.md#status-report: an attribute name (usable as `attributes.<name>` in device queries). */
export const STATUS_ATTRIBUTE_NAME = /^[A-Za-z0-9._-]{1,32}$/;

const attributeString = z.string().refine((v) => codePointLength(v) <= LIMITS.statusAttributeValueChars, `at most ${LIMITS.statusAttributeValueChars} code points`);

/**
 * What the device says about itself (docs/protocol.md#status-report): bounded in count, names
 * and sizes; `hwrev` is a string and `freeStorage` an integer (bytes) when present, other names
 * are free-form (a string or an integer).
 */
export const statusAttributes = z
  .record(z.string().regex(STATUS_ATTRIBUTE_NAME), z.union([attributeString, wireInteger]))
  .refine((a) => Object.keys(a).length <= LIMITS.statusAttributes, `at most ${LIMITS.statusAttributes} attributes`)
  .refine((a) => a.hwrev === undefined || typeof a.hwrev === 'string', 'hwrev is a string')
  .refine((a) => a.freeStorage === undefined || typeof a.freeStorage === 'number', 'freeStorage is an integer (bytes)');

export const statusSigned = z.strictObject({
  _type: z.literal('status'),
  deviceId,
  rolloutId: nameId,
  counter: wireInteger,
  seq: wireInteger,
  // docs/protocol.md#status-report (issue 21 point 1): the device clock's time, in seconds, when its
  // storage was last initialised; `seq` restarts under a higher epoch. Absent means epoch 0.
  epoch: wireInteger.optional(),
  state: z.enum(REPORTED_STATES),
  progress: wireInteger.max(100).optional(),
  reason: z.enum(REASON_CODES).optional(),
  // Code points, not UTF-16 units (issue 21 point 13): an emoji counts once in every language.
  detail: z.string().refine((d) => codePointLength(d) <= LIMITS.statusDetailChars, `at most ${LIMITS.statusDetailChars} code points`).optional(),
  installed: z.strictObject({ releaseId: nameId, sequence: wireInteger }),
  rootVersion: wireInteger.min(1),
  // docs/protocol.md#status-report (issue 17): optional, so reports of devices that send none are unchanged.
  attributes: statusAttributes.optional(),
  at: wireTime,
}).refine(
  // docs/protocol.md#status-report: a device reports exactly one reason with `rejected` or `failed`, and only then.
  (s) => (s.state === 'rejected' || s.state === 'failed') === (s.reason !== undefined),
  'reason goes with rejected or failed, and only with them',
);

export const statusEnvelope = envelopeOf(statusSigned);
export type StatusSigned = z.infer<typeof statusSigned>;
export type StatusEnvelope = Envelope<StatusSigned>;
