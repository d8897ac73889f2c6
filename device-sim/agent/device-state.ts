// The device's persisted record (one per device) and its provisioning. The record is an
// immutable value: the agent replaces it whole, the store writes it whole.
// It does not do I/O; stores live in store.ts and file-store.ts.
import { z } from 'zod';
import {
  decodePublicKey, fromBase64url, isDeviceId, isNameId, keyIdOf, nameId, payloadSchema, policySchema,
  ownershipSigned, REPORTED_STATES, rootSigned, sha256Hex, toBase64url, verifyTrustAnchor, wireInteger, wireTime,
  type Ed25519, type OwnershipSigned, type Payload, type Policy, type ReportedState, type RootEnvelope, type RootSigned, type SigningKey,
} from '../../protocol/index.js';
import { AgentError } from './errors.js';

export type SlotName = 'A' | 'B';

export function otherSlot(slot: SlotName): SlotName {
  return slot === 'A' ? 'B' : 'A';
}

/** What a slot holds; `committed` only once the bootloader boots it for good. */
export interface SlotImage {
  readonly releaseId: string;
  readonly sequence: number;
  readonly sha256: string;
  readonly size: number;
  readonly committed: boolean;
}

export interface InstalledRelease {
  readonly releaseId: string;
  readonly sequence: number;
}

/** Steps of an install job that a restart resumes from (docs/protocol.md#device-states). */
export const JOB_STEPS = ['deferred', 'downloading', 'verifying', 'installing', 'rebooting'] as const;
export type JobStep = (typeof JOB_STEPS)[number];

/** An install the device accepted (or deferred) and has not finished: resumed or reverted on restart. */
export interface Job {
  readonly rolloutId: string;
  readonly counter: number;
  readonly manifestSha256: string;
  readonly release: { readonly releaseId: string; readonly version: string; readonly sequence: number; readonly payload: Payload };
  readonly policy: Policy;
  /** The directive's `expiresAt`: a deferred job that outlives it ends as `directive_expired`. */
  readonly directiveExpiresAt: string;
  readonly step: JobStep;
  readonly targetSlot: SlotName;
  /** The owner's answer to an optional update, once given. */
  readonly consent?: 'granted' | 'declined';
  /** Last download progress reported, percent. */
  readonly progress?: number;
  /** Set when the download finished: what the streaming hash saw. */
  readonly downloaded?: { readonly sha256: string; readonly size: number };
}

/** A signed status report persisted before it is sent, removed once the broker acknowledged it. */
export interface OutboxEntry {
  readonly seq: number;
  readonly state: ReportedState;
  readonly rolloutId: string;
  readonly counter: number;
  /** The encoded report (UTF-8 JSON text), resent byte for byte. */
  readonly body: string;
}

export interface DeviceRecord {
  readonly format: 1;
  readonly deviceId: string;
  /** Ed25519 seed, base64url (RFC 8032 secret key). */
  readonly secretKey: string;
  readonly vendorId: string;
  readonly classId: string;
  /** Trusted root (provisioned, then advanced by verified chains). */
  readonly root: RootSigned;
  /** Last accepted directive counter (anti-replay). */
  readonly counter: number;
  /** docs/protocol.md#owner-mode: the ownership record held once enrolled; absent in vendor mode. */
  readonly ownership?: OwnershipSigned;
  readonly installed: InstalledRelease;
  readonly activeSlot: SlotName;
  readonly slots: { readonly A: SlotImage | null; readonly B: SlotImage | null };
  /** Last status `seq` used. */
  readonly statusSeq: number;
  /**
   * docs/protocol.md#status-report: the clock's time (seconds) when this storage was first
   * started; `seq` counts within it. A reset storage gets a new, later epoch at its first start.
   * Absent until then (and in records written before epochs).
   */
  readonly epoch?: number;
  readonly job: Job | null;
  readonly outbox: readonly OutboxEntry[];
  /** The last directive refused, so a retained copy redelivered on reconnect is not reported again. */
  readonly lastRejected: { readonly rolloutId: string; readonly counter: number } | null;
}

/** The factory image every device ships with unless provisioned otherwise. */
export const FACTORY_RELEASE: InstalledRelease = { releaseId: 'factory', sequence: 0 };
/** The simulated factory image is empty bytes; its digest is what slot A holds at first boot. */
export const FACTORY_IMAGE_SHA256 = sha256Hex(new Uint8Array(0));

export interface ProvisionInput {
  deviceId: string;
  secretKey: Uint8Array;
  vendorId: string;
  classId: string;
  /** The trust anchor: an envelope is checked against its own root threshold; a body is taken as already verified. */
  root: RootEnvelope | RootSigned;
  installed?: InstalledRelease;
  /** Digest and size of the installed image in slot A (default: the empty factory image). */
  image?: { sha256: string; size: number };
}

/** The trusted root body of a trust anchor (docs/protocol.md#root-chain: a device is provisioned with one trusted root). */
export function trustAnchorOf(root: RootEnvelope | RootSigned, ed25519: Ed25519): RootSigned {
  if ('signed' in root) {
    try {
      return verifyTrustAnchor(root, ed25519);
    } catch (error) {
      throw new AgentError('invalid_provisioning', `trust anchor refused: ${(error as { code?: string }).code ?? 'invalid'}`);
    }
  }
  const parsed = rootSigned.safeParse(root);
  if (!parsed.success) throw new AgentError('invalid_provisioning', 'trust anchor is not a root document');
  return root;
}

/** A fresh device record, as written at manufacture. */
export function provisionDevice(input: ProvisionInput, ed25519: Ed25519): DeviceRecord {
  if (!isDeviceId(input.deviceId)) throw new AgentError('invalid_provisioning', 'invalid device id');
  if (!isNameId(input.vendorId) || !isNameId(input.classId)) throw new AgentError('invalid_provisioning', 'invalid vendor or class id');
  if (input.secretKey.length !== 32) throw new AgentError('invalid_provisioning', 'an Ed25519 secret key is 32 bytes');
  const installed = input.installed ?? FACTORY_RELEASE;
  const image = input.image ?? { sha256: FACTORY_IMAGE_SHA256, size: 0 };
  return {
    format: 1,
    deviceId: input.deviceId,
    secretKey: toBase64url(input.secretKey),
    vendorId: input.vendorId,
    classId: input.classId,
    root: trustAnchorOf(input.root, ed25519),
    counter: 0,
    installed,
    activeSlot: 'A',
    slots: { A: { ...installed, ...image, committed: true }, B: null },
    statusSeq: 0,
    job: null,
    outbox: [],
    lastRejected: null,
  };
}

/** The device's signing key from its record. */
export function deviceKeyOf(record: DeviceRecord, ed25519: Ed25519): SigningKey {
  const secretKey = fromBase64url(record.secretKey);
  if (!secretKey || secretKey.length !== 32) throw new AgentError('state_corrupt', 'secret key is not 32 bytes');
  const publicKey = ed25519.publicKeyOf(secretKey);
  return { keyid: keyIdOf(publicKey), publicKey, secretKey };
}

/** The wire form of the device's public key (what the registry stores). */
export function publicKeyOf(record: DeviceRecord, ed25519: Ed25519): string {
  const key = deviceKeyOf(record, ed25519);
  const encoded = toBase64url(key.publicKey);
  if (!decodePublicKey(encoded)) throw new AgentError('state_corrupt', 'bad public key');
  return encoded;
}

// Schema of a persisted record: a file on disk is input too, validated before it is trusted.
const slotImage = z.strictObject({ releaseId: nameId, sequence: wireInteger, sha256: z.string().regex(/^[0-9a-f]{64}$/), size: wireInteger, committed: z.boolean() });
const slotName = z.enum(['A', 'B']);
const jobSchema = z.strictObject({
  rolloutId: nameId,
  counter: wireInteger,
  manifestSha256: z.string().regex(/^[0-9a-f]{64}$/),
  release: z.strictObject({ releaseId: nameId, version: z.string().max(64), sequence: wireInteger, payload: payloadSchema }),
  policy: policySchema,
  directiveExpiresAt: wireTime,
  step: z.enum(JOB_STEPS),
  targetSlot: slotName,
  consent: z.enum(['granted', 'declined']).optional(),
  progress: wireInteger.max(100).optional(),
  downloaded: z.strictObject({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: wireInteger }).optional(),
});
const outboxEntry = z.strictObject({ seq: wireInteger, state: z.enum(REPORTED_STATES), rolloutId: nameId, counter: wireInteger, body: z.string().max(8192) });
export const deviceRecordSchema = z.strictObject({
  format: z.literal(1),
  deviceId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  secretKey: z.string().max(64),
  vendorId: nameId,
  classId: nameId,
  root: rootSigned,
  counter: wireInteger,
  ownership: ownershipSigned.optional(),
  installed: z.strictObject({ releaseId: nameId, sequence: wireInteger }),
  activeSlot: slotName,
  slots: z.strictObject({ A: slotImage.nullable(), B: slotImage.nullable() }),
  statusSeq: wireInteger,
  epoch: wireInteger.optional(),
  job: jobSchema.nullable(),
  outbox: z.array(outboxEntry).max(10_000),
  lastRejected: z.strictObject({ rolloutId: nameId, counter: wireInteger }).nullable(),
});

/** Validates a record read back from storage; throws state_corrupt. */
export function parseDeviceRecord(json: unknown): DeviceRecord {
  const parsed = deviceRecordSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AgentError('state_corrupt', `device record: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  const record = parsed.data as DeviceRecord;
  const active = record.slots[record.activeSlot];
  // The invariant a restart relies on: the active slot holds a committed image.
  if (!active || !active.committed) throw new AgentError('state_corrupt', 'active slot holds no committed image');
  return record;
}
