// `keys sign-release`: builds and signs a release manifest offline (docs/protocol.md#release-manifest) from an artifact hashed as it streams. Never contacts a server.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import {
  UsageError,
  buildReleaseBody,
  formatWireTime,
  manifestDigest,
  signRelease,
  toEpochSeconds,
  type ReleaseEnvelope,
  type ReleaseSigned,
  type SigningKey,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KeyToolError, usageError } from './errors.js';
import { readPrivateKeyFile, writeFileAtomic } from './key-file.js';

export interface ArtifactDigest {
  sha256: string;
  size: number;
}

/** SHA-256 and length of a file, read as a stream (images can be larger than memory). */
export async function hashArtifact(path: string): Promise<ArtifactDigest> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new KeyToolError('artifact', `artifact ${path} is not a readable file`);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of createReadStream(path)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
  } catch (error) {
    throw new KeyToolError('artifact', `artifact ${path} could not be read: ${(error as Error).message}`);
  }
  return { sha256: hash.digest('hex'), size };
}

export interface SignReleaseOptions {
  keys: string[];
  /** Either an artifact to hash, or its digest and size. */
  artifact?: string;
  sha256?: string;
  size?: number;
  uri: string;
  releaseId: string;
  version: string;
  sequence: number;
  vendorId: string;
  classId: string;
  minSequence?: number;
  expiresDays?: number;
  /** docs/protocol.md#owner-mode: the devices the manifest authorizes (required with `asOwner`). */
  devices?: string[];
  /** Sign with owner keys (role `owner`) instead of release keys. */
  asOwner?: boolean;
  out: string;
  force?: boolean;
  now?: number;
}

export interface SignReleaseResult {
  out: string;
  manifestSha256: string;
  signedBy: string[];
  release: ReleaseSigned;
}

async function payloadOf(options: SignReleaseOptions): Promise<ArtifactDigest> {
  const given = options.sha256 !== undefined || options.size !== undefined;
  if (options.artifact !== undefined && given) throw usageError('pass either --artifact or --sha256 with --size, not both');
  if (options.artifact !== undefined) return hashArtifact(options.artifact);
  if (options.sha256 === undefined || options.size === undefined) throw usageError('pass --artifact, or --sha256 and --size');
  return { sha256: options.sha256.toLowerCase(), size: options.size };
}

export async function signReleaseManifest(options: SignReleaseOptions): Promise<SignReleaseResult> {
  if (options.keys.length === 0) throw usageError('pass at least one --key');
  // An owner-mode device refuses an owner manifest that does not name it (device_not_listed).
  if (options.asOwner && !options.devices?.length) throw usageError('an owner manifest names its devices: pass --device');
  if (!options.force && (await stat(options.out).catch(() => undefined))) {
    throw new KeyToolError('output_exists', `${options.out} exists; pass --force to replace it`);
  }
  // Keys first: a missing or exposed key fails before any hashing work.
  const keys = new Map<string, SigningKey>();
  for (const path of options.keys) {
    const key = await readPrivateKeyFile(path, options.asOwner ? 'owner' : 'release');
    keys.set(key.keyid, key);
  }
  const payload = await payloadOf(options);
  const createdAt = options.now ?? toEpochSeconds(new Date());
  let body: ReleaseSigned;
  let envelope: ReleaseEnvelope;
  try {
    body = buildReleaseBody({
      releaseId: options.releaseId,
      version: options.version,
      sequence: options.sequence,
      vendorId: options.vendorId,
      classId: options.classId,
      payload: { sha256: payload.sha256, size: payload.size, uri: options.uri },
      // Optional fields are left out rather than set to undefined: only JSON values are signed.
      ...(options.minSequence !== undefined ? { minSequence: options.minSequence } : {}),
      ...(options.devices?.length ? { devices: [...new Set(options.devices)] } : {}),
      createdAt: formatWireTime(createdAt),
      ...(options.expiresDays !== undefined ? { expiresAt: formatWireTime(createdAt + options.expiresDays * 86_400) } : {}),
    });
    envelope = signRelease(body, [...keys.values()], nodeEd25519);
  } catch (error) {
    if (error instanceof UsageError) throw usageError(error.message);
    throw error;
  }
  // Manifests are public: the orchestrator publishes them inside directive messages.
  await writeFileAtomic(options.out, `${JSON.stringify(envelope, null, 2)}\n`, 0o644);
  return { out: options.out, manifestSha256: manifestDigest(envelope), signedBy: [...keys.keys()], release: body };
}
