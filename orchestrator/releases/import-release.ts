// Imports a release manifest signed offline (docs/design.md#trust-model: the orchestrator never holds release
// keys). Refused, each with one code: not a release envelope, no root, release threshold of
// the current root not met, expired, payload not a stored artifact of that size, duplicate id,
// sequence not above the class's last one.
import {
  canonicalBytes,
  meetsThreshold,
  parseWireTime,
  releaseEnvelope,
  roleKeysOf,
  type ReleaseEnvelope,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import type { ArtifactStore } from '../artifacts/artifact-store.js';
import { ReleaseError } from './errors.js';
import type { ReleaseStore, StoredRelease } from './release-store.js';
import type { RootStore } from './root-store.js';

export interface ImportReleaseDeps {
  releases: ReleaseStore;
  roots: RootStore;
  artifacts: ArtifactStore;
  now: () => Date;
}

export async function importRelease(input: unknown, deps: ImportReleaseDeps): Promise<StoredRelease> {
  const shape = releaseEnvelope.safeParse(input);
  if (!shape.success) {
    const issue = shape.error.issues[0];
    throw new ReleaseError('invalid_release', `not a release envelope${issue ? `: ${issue.path.join('.')}: ${issue.message}` : ''}`);
  }
  // Keep the caller's object: signatures cover its canonical form, whatever the key order.
  const envelope = input as ReleaseEnvelope;
  const signed = envelope.signed;
  if (signed.minSequence !== undefined && signed.minSequence > signed.sequence) {
    throw new ReleaseError('invalid_release', 'minSequence is above sequence');
  }

  const root = await deps.roots.current();
  if (!root) throw new ReleaseError('no_root', 'publish a root before importing releases');
  // docs/protocol.md#signed-envelope: a role's threshold is met by valid signatures from distinct keyids the current
  // root lists for `release`; signatures by any other key are ignored.
  if (!meetsThreshold(envelope, roleKeysOf(root.signed, 'release'), nodeEd25519, canonicalBytes(signed))) {
    throw new ReleaseError('release_signature', `release signatures do not meet the release threshold (${root.signed.roles.release.threshold}) of root ${root.signed.version}`);
  }
  const nowSeconds = deps.now().getTime() / 1000;
  if (signed.expiresAt !== undefined && (parseWireTime(signed.expiresAt) ?? 0) <= nowSeconds) {
    throw new ReleaseError('release_expired', `release expired at ${signed.expiresAt}`);
  }

  const artifact = await deps.artifacts.stat(signed.payload.sha256);
  if (!artifact) throw new ReleaseError('artifact_missing', `no stored artifact with sha256 ${signed.payload.sha256}; upload it first`);
  if (artifact.size !== signed.payload.size) {
    throw new ReleaseError('artifact_mismatch', `payload.size ${signed.payload.size} differs from the stored artifact's ${artifact.size} bytes`);
  }

  const outcome = await deps.releases.store(envelope, deps.now());
  if (!outcome.ok) {
    if (outcome.code === 'duplicate_release') throw new ReleaseError('duplicate_release', `release ${signed.releaseId} already exists`);
    throw new ReleaseError('sequence_not_increasing', `sequence ${signed.sequence} is not above ${outcome.lastSequence} for ${signed.vendorId}/${signed.classId}`);
  }
  return outcome.release!;
}
