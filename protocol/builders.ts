// Builders for every signed body: they validate against the schema before anything is signed,
// so a caller cannot put a malformed message on the wire.
import type { Ed25519 } from './crypto/ed25519.js';
import { sha256Hex } from './crypto/hash.js';
import { encodePublicKey, keyIdOf, type SigningKey } from './crypto/keys.js';
import { canonicalBytes } from './encoding/canonical.js';
import { utf8 } from './encoding/utf8.js';
import { UsageError } from './errors.js';
import { LIMITS } from './limits.js';
import type { Envelope } from './schemas/common.js';
import { directiveSigned, type DirectiveEnvelope, type DirectiveMessage, type DirectiveSigned } from './schemas/directive.js';
import { ownershipSigned, type OwnershipEnvelope, type OwnershipSigned } from './schemas/ownership.js';
import { releaseSigned, type ReleaseEnvelope, type ReleaseSigned } from './schemas/release.js';
import { rootSigned, type Role, type RootEnvelope, type RootSigned } from './schemas/root.js';
import { statusSigned, type StatusEnvelope, type StatusSigned } from './schemas/status.js';
import { signEnvelope } from './trust/envelope.js';
import type { z } from 'zod';

/** Drops keys whose value is undefined (they have no JSON form), at every depth. */
function withoutUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutUndefined);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k, withoutUndefined(v)]));
  }
  return value;
}

function validated<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const body = withoutUndefined(input);
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError('ERR_INVALID_BODY', `${what}: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`);
  }
  // Keep the caller's object (not zod's copy) so field order does not matter anywhere.
  return body as T;
}

/** Derives a SigningKey from a 32-byte seed. */
export function signingKeyFromSeed(secretKey: Uint8Array, ed25519: Ed25519): SigningKey {
  const publicKey = ed25519.publicKeyOf(secretKey);
  return { keyid: keyIdOf(publicKey), publicKey, secretKey };
}

export interface RootSpec {
  version: number;
  expiresAt: string;
  roles: Record<Role, { publicKeys: Uint8Array[]; threshold: number }>;
}

/** The signed body of a root document listing each role's public keys. */
export function buildRootBody(spec: RootSpec): RootSigned {
  const keys: RootSigned['keys'] = {};
  const roles = {} as RootSigned['roles'];
  for (const role of ['root', 'release', 'director'] as const) {
    const keyids = spec.roles[role].publicKeys.map((pk) => {
      const keyid = keyIdOf(pk);
      keys[keyid] = { keytype: 'ed25519', public: encodePublicKey(pk) };
      return keyid;
    });
    roles[role] = { keyids: [...new Set(keyids)], threshold: spec.roles[role].threshold };
  }
  const body = { _type: 'root' as const, specVersion: 1 as const, version: spec.version, expiresAt: spec.expiresAt, keys, roles };
  return validated(rootSigned, body, 'root');
}

export function signRoot(body: RootSigned, keys: readonly SigningKey[], ed25519: Ed25519): RootEnvelope {
  return signEnvelope(validated(rootSigned, body, 'root'), keys, ed25519);
}

export function buildReleaseBody(body: Omit<ReleaseSigned, '_type'>): ReleaseSigned {
  return validated(releaseSigned, { _type: 'release', ...body }, 'release');
}

export function signRelease(body: ReleaseSigned, keys: readonly SigningKey[], ed25519: Ed25519): ReleaseEnvelope {
  return signEnvelope(validated(releaseSigned, body, 'release'), keys, ed25519);
}

/** docs/protocol.md#release-manifest: the manifest digest is the SHA-256 of the canonical bytes of `signed`. */
export function manifestDigest(release: Envelope<ReleaseSigned> | ReleaseSigned): string {
  const body = '_type' in release ? release : release.signed;
  return sha256Hex(canonicalBytes(body));
}

/**
 * docs/protocol.md#owner-mode: version 1 enrols `deviceId` to `ownerPublicKey`; a higher
 * version transfers it to another key, or revokes the owner key when `ownerPublicKey` is omitted.
 */
export function buildOwnershipBody(body: { deviceId: string; version: number; ownerPublicKey?: Uint8Array; issuedAt: string }): OwnershipSigned {
  return validated(ownershipSigned, {
    _type: 'ownership',
    specVersion: 1,
    deviceId: body.deviceId,
    version: body.version,
    ...(body.ownerPublicKey ? { owner: { keytype: 'ed25519', public: encodePublicKey(body.ownerPublicKey) } } : {}),
    issuedAt: body.issuedAt,
  }, 'ownership');
}

/** Signed by root keys (a threshold of the root role; offline k-of-n signing adds signatures). */
export function signOwnership(body: OwnershipSigned, rootKeys: readonly SigningKey[], ed25519: Ed25519): OwnershipEnvelope {
  return signEnvelope(validated(ownershipSigned, body, 'ownership'), rootKeys, ed25519);
}

export function buildDirectiveBody(body: Omit<DirectiveSigned, '_type'>): DirectiveSigned {
  return validated(directiveSigned, { _type: 'directive', ...body }, 'directive');
}

export function signDirective(body: DirectiveSigned, keys: readonly SigningKey[], ed25519: Ed25519): DirectiveEnvelope {
  return signEnvelope(body, keys, ed25519);
}

/** Encodes the message published on a device's directive topic; refuses one over 64 KiB. */
export function encodeDirectiveMessage(message: DirectiveMessage): Uint8Array {
  const bytes = utf8(JSON.stringify(message));
  if (bytes.length > LIMITS.directiveMessageBytes) {
    throw new UsageError('ERR_TOO_LARGE', `directive message of ${bytes.length} bytes exceeds ${LIMITS.directiveMessageBytes}`);
  }
  return bytes;
}

export function buildStatusBody(body: Omit<StatusSigned, '_type'>): StatusSigned {
  return validated(statusSigned, { _type: 'status', ...body }, 'status');
}

/** A status report signed by the device key, encoded for the wire (at most 4 KiB). */
export function encodeStatusReport(body: StatusSigned, deviceKey: SigningKey, ed25519: Ed25519): Uint8Array {
  const envelope: StatusEnvelope = signEnvelope(body, [deviceKey], ed25519);
  const bytes = utf8(JSON.stringify(envelope));
  if (bytes.length > LIMITS.statusReportBytes) throw new UsageError('ERR_TOO_LARGE', 'status report exceeds 4 KiB');
  return bytes;
}
