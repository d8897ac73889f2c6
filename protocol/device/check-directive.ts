// The device's check sequence (docs/protocol.md#device-checks-in-order) as one pure function over
// the raw bytes of a directive message: it returns a verified plan or exactly one reason code.
// Like TUF's trusted metadata set it does no I/O: the caller persists the new root and counter
// only after acting on the plan.
import type { Ed25519 } from '../crypto/ed25519.js';
import { sha256Hex } from '../crypto/hash.js';
import { assertSignedBodyNumbers, canonicalBytes } from '../encoding/canonical.js';
import { fromUtf8 } from '../encoding/utf8.js';
import { hasOnlyIntegerLiterals } from '../encoding/integer-literals.js';
import { hasDuplicateMembers } from '../encoding/duplicate-members.js';
import { ProtocolError, type ReasonCode } from '../errors.js';
import { LIMITS } from '../limits.js';
import { directiveMessageSchema, type DirectiveSigned, type DirectiveMessage } from '../schemas/directive.js';
import type { OwnershipSigned } from '../schemas/ownership.js';
import type { ReleaseSigned } from '../schemas/release.js';
import type { RootSigned } from '../schemas/root.js';
import { parseWireTime } from '../time.js';
import { meetsThreshold, roleKeysOf } from '../trust/envelope.js';
import { ownerKeysOf, updateOwnership } from '../trust/ownership.js';
import { updateRoot } from '../trust/root-chain.js';

/** What a device trusts before the message arrives. */
export interface DeviceTrustState {
  readonly root: RootSigned;
  readonly deviceId: string;
  /** Last accepted directive counter. */
  readonly counter: number;
  /** Installed release sequence. */
  readonly sequence: number;
  readonly vendorId: string;
  readonly classId: string;
  /** The ownership record held (docs/protocol.md#owner-mode); absent: vendor mode. */
  readonly ownership?: OwnershipSigned;
}

export interface DirectivePlan {
  readonly action: 'install' | 'cancel';
  readonly directive: DirectiveSigned;
  readonly release: ReleaseSigned;
  /** Hex SHA-256 of the manifest's canonical signed bytes. */
  readonly manifestSha256: string;
  /** The newest root after walking the chain: persist it once the plan is acted on. */
  readonly root: RootSigned;
  /** Equal sequence: report `succeeded` without download. */
  readonly alreadyInstalled: boolean;
  /** The ownership record in force after this message: persist it with the root. */
  readonly ownership?: OwnershipSigned;
}

export type DirectiveCheck =
  | { readonly ok: true; readonly plan: DirectivePlan }
  | { readonly ok: false; readonly reason: ReasonCode; readonly detail: string };

function fail(reason: ReasonCode, detail: string): DirectiveCheck {
  return { ok: false, reason, detail };
}

function isPast(wireTime: string | undefined, nowSeconds: number): boolean {
  if (wireTime === undefined) return false;
  const at = parseWireTime(wireTime);
  return at === undefined || nowSeconds >= at;
}

/** Step 1: size and schema. */
function parseMessage(bytes: Uint8Array): DirectiveMessage {
  if (bytes.length > LIMITS.directiveMessageBytes) throw new ProtocolError('too_large', `message of ${bytes.length} bytes`);
  const text = fromUtf8(bytes);
  if (text === undefined) throw new ProtocolError('bad_schema', 'not UTF-8');
  if (!hasOnlyIntegerLiterals(text)) throw new ProtocolError('bad_schema', 'a number that is not a plain integer literal');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProtocolError('bad_schema', 'not JSON');
  }
  if (hasDuplicateMembers(text)) throw new ProtocolError('bad_schema', 'an object names a member twice');
  // Floats and unsafe integers anywhere in the message are refused before the schema.
  assertSignedBodyNumbers(json);
  const parsed = directiveMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProtocolError('bad_schema', issue ? `${issue.path.join('.')}: ${issue.message}` : 'schema');
  }
  return parsed.data;
}

/** Runs every check in order; never throws on any input. */
export function checkDirectiveMessage(state: DeviceTrustState, bytes: Uint8Array, nowSeconds: number, ed25519: Ed25519): DirectiveCheck {
  try {
    return runChecks(state, bytes, nowSeconds, ed25519);
  } catch (error) {
    if (error instanceof ProtocolError) return fail(error.code, error.message);
    // Anything unexpected on hostile input is still a refusal, never a plan.
    return fail('bad_schema', 'unexpected input');
  }
}

function runChecks(state: DeviceTrustState, bytes: Uint8Array, nowSeconds: number, ed25519: Ed25519): DirectiveCheck {
  const message = parseMessage(bytes);

  // Step 2: root chain, then expiry of the newest root.
  const root = updateRoot(state.root, message.roots, nowSeconds, ed25519);

  // Step 2b: the ownership record, weighed under the newest root (owner mode).
  const ownership = updateOwnership(root, state.ownership, message.ownership, state.deviceId, ed25519);

  // Step 3: director threshold under the newest root.
  const directive = message.directive.signed;
  if (!meetsThreshold(message.directive, roleKeysOf(root, 'director'), ed25519)) {
    return fail('directive_signature', 'director threshold not met');
  }

  // The director signed the root version it works under; a device left below it was fed a
  // truncated chain (the `roots` list is not signed): refuse rather than freeze on an old root.
  if (directive.rootVersion > root.version) {
    return fail('root_invalid', `directive issued under root ${directive.rootVersion}, chain reaches ${root.version}`);
  }

  // Step 4: addressed to this device.
  if (directive.deviceId !== state.deviceId) return fail('not_addressed', `directive for ${directive.deviceId}`);

  // Step 5: freshness (anti-freeze) and anti-replay.
  if (isPast(directive.expiresAt, nowSeconds)) return fail('directive_expired', `expired at ${directive.expiresAt}`);
  if (directive.counter <= state.counter) return fail('replayed', `counter ${directive.counter} <= ${state.counter}`);

  // Step 6: who may authorize this device's images: the release role (vendor mode) or its owner's
  // key alone (owner mode; vendor keys neither needed nor enough). Then the devices the manifest
  // names, and its expiry.
  const releaseBytes = canonicalBytes(message.release.signed);
  const release = message.release.signed;
  if (ownership) {
    const ownerKeys = ownerKeysOf(ownership);
    // A cancel installs nothing: it may still stop work after the owner key was revoked.
    if (!ownerKeys && directive.action === 'install') return fail('owner_revoked', `owner key revoked by ownership ${ownership.version}`);
    if (ownerKeys && !meetsThreshold(message.release, ownerKeys, ed25519, releaseBytes)) {
      return fail('owner_signature', 'not signed by the device owner\'s key');
    }
  } else if (!meetsThreshold(message.release, roleKeysOf(root, 'release'), ed25519, releaseBytes)) {
    return fail('release_signature', 'release threshold not met');
  }
  if (release.devices ? !release.devices.includes(state.deviceId) : ownership !== undefined) {
    return fail('device_not_listed', release.devices ? 'manifest does not name this device' : 'an owner-mode device needs a manifest naming it');
  }
  if (isPast(release.expiresAt, nowSeconds)) return fail('release_expired', `expired at ${release.expiresAt}`);

  // Step 7: the directive names exactly this manifest (no mix-and-match).
  const manifestSha256 = sha256Hex(releaseBytes);
  if (manifestSha256 !== directive.manifestSha256) return fail('digest_mismatch', 'manifest digest differs from the directive');

  // Step 8: vendor and class.
  if (release.vendorId !== state.vendorId || release.classId !== state.classId) {
    return fail('wrong_target', `release for ${release.vendorId}/${release.classId}`);
  }

  const plan = { directive, release, manifestSha256, root, ...(ownership ? { ownership } : {}) };
  // A cancel stops work in progress; sequence rules guard installs only.
  if (directive.action === 'cancel') return { ok: true, plan: { ...plan, action: 'cancel', alreadyInstalled: false } };

  // Step 9: anti-rollback; equal means already installed.
  if (release.sequence < state.sequence) return fail('rollback', `sequence ${release.sequence} < installed ${state.sequence}`);
  if (release.sequence === state.sequence) return { ok: true, plan: { ...plan, action: 'install', alreadyInstalled: true } };
  if (release.minSequence !== undefined && state.sequence < release.minSequence) {
    return fail('needs_intermediate', `installed ${state.sequence} below minSequence ${release.minSequence}`);
  }
  return { ok: true, plan: { ...plan, action: 'install', alreadyInstalled: false } };
}
