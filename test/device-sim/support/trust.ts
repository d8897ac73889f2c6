// Signed fixtures for device-sim tests, generated with the protocol's builders (never hand-edited
// JSON): a root with fixed role keys, releases, directives and directive messages.
import { createHash } from 'node:crypto';
import {
  buildDirectiveBody, buildReleaseBody, buildRootBody, encodeDirectiveMessage, formatWireTime, manifestDigest,
  signDirective, signingKeyFromSeed, signRelease, signRoot,
  type DirectiveSigned, type Ed25519, type OwnershipEnvelope, type Policy, type ReleaseEnvelope, type RootEnvelope, type SigningKey,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';

const seed = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(`device-sim fixture ${label}`).digest());

/** The most recent 12:00 UTC at or before the moment the tests run (seconds). Taken from the
 *  test's own clock, never a fixed date, so signed fixtures never expire; noon so the policy
 *  tests' daily windows around it stay meaningful. */
export const NOW = lastNoonUtc(Date.now() / 1000);

function lastNoonUtc(nowSeconds: number): number {
  const noon = 12 * 3600;
  return Math.floor((nowSeconds - noon) / 86_400) * 86_400 + noon;
}
export const VENDOR = 'acme';
export const CLASS = 'gw-1';

export interface TrustFixture {
  readonly ed25519: Ed25519;
  readonly keys: { root: SigningKey; root2: SigningKey; release: SigningKey; director: SigningKey; stranger: SigningKey };
  readonly root: RootEnvelope;
  /** Root v2 (new director key), signed by v1's and its own root keys. */
  readonly root2: RootEnvelope;
}

export function trustFixture(ed25519: Ed25519 = nodeEd25519): TrustFixture {
  const keys = {
    root: signingKeyFromSeed(seed('root'), ed25519),
    root2: signingKeyFromSeed(seed('root2'), ed25519),
    release: signingKeyFromSeed(seed('release'), ed25519),
    director: signingKeyFromSeed(seed('director'), ed25519),
    stranger: signingKeyFromSeed(seed('stranger'), ed25519),
  };
  const expiresAt = formatWireTime(NOW + 365 * 86_400);
  const root = signRoot(buildRootBody({
    version: 1, expiresAt,
    roles: { root: { publicKeys: [keys.root.publicKey], threshold: 1 }, release: { publicKeys: [keys.release.publicKey], threshold: 1 }, director: { publicKeys: [keys.director.publicKey], threshold: 1 } },
  }), [keys.root], ed25519);
  const root2 = signRoot(buildRootBody({
    version: 2, expiresAt,
    roles: { root: { publicKeys: [keys.root2.publicKey], threshold: 1 }, release: { publicKeys: [keys.release.publicKey], threshold: 1 }, director: { publicKeys: [keys.stranger.publicKey], threshold: 1 } },
  }), [keys.root, keys.root2], ed25519);
  return { ed25519, keys, root, root2 };
}

export interface ReleaseSpec {
  releaseId?: string;
  sequence?: number;
  payload: Uint8Array | { sha256: string; size: number };
  uri?: string;
  minSequence?: number;
  vendorId?: string;
  classId?: string;
  expiresAt?: string;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function makeRelease(t: TrustFixture, spec: ReleaseSpec, signer: SigningKey = t.keys.release): ReleaseEnvelope {
  const digest = spec.payload instanceof Uint8Array ? { sha256: sha256Hex(spec.payload), size: spec.payload.length } : spec.payload;
  const sequence = spec.sequence ?? 1;
  return signRelease(buildReleaseBody({
    releaseId: spec.releaseId ?? `fw-${sequence}`,
    version: `1.${sequence}.0`,
    sequence,
    vendorId: spec.vendorId ?? VENDOR,
    classId: spec.classId ?? CLASS,
    payload: { ...digest, uri: spec.uri ?? 'http://127.0.0.1:9/fw.bin' },
    ...(spec.minSequence !== undefined ? { minSequence: spec.minSequence } : {}),
    createdAt: formatWireTime(NOW - 3600),
    ...(spec.expiresAt ? { expiresAt: spec.expiresAt } : {}),
  }), [signer], t.ed25519);
}

export interface DirectiveSpec {
  deviceId: string;
  counter: number;
  release: ReleaseEnvelope;
  rolloutId?: string;
  action?: 'install' | 'cancel';
  policy?: Policy;
  expiresAt?: string;
  rootVersion?: number;
  roots?: RootEnvelope[];
  signer?: SigningKey;
  manifestSha256?: string;
  /** docs/protocol.md#owner-mode: the ownership record the message carries. */
  ownership?: OwnershipEnvelope;
}

export function makeDirective(t: TrustFixture, spec: DirectiveSpec): DirectiveSigned {
  return buildDirectiveBody({
    deviceId: spec.deviceId,
    rolloutId: spec.rolloutId ?? 'r-1',
    wave: 0,
    action: spec.action ?? 'install',
    manifestSha256: spec.manifestSha256 ?? manifestDigest(spec.release),
    counter: spec.counter,
    rootVersion: spec.rootVersion ?? 1,
    issuedAt: formatWireTime(NOW - 60),
    expiresAt: spec.expiresAt ?? formatWireTime(NOW + 7 * 86_400),
    policy: spec.policy ?? { mode: 'auto' },
  });
}

/** The bytes a device receives on its directive topic. */
export function directiveMessage(t: TrustFixture, spec: DirectiveSpec): Uint8Array {
  const directive = signDirective(makeDirective(t, spec), [spec.signer ?? t.keys.director], t.ed25519);
  return encodeDirectiveMessage({ directive, release: spec.release, roots: spec.roots ?? [], ...(spec.ownership ? { ownership: spec.ownership } : {}) });
}
