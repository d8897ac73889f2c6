// Owner mode tooling, offline (docs/protocol.md#owner-mode): an owner's key pair, and the
// ownership records the root officers sign to enrol, transfer or revoke one device. Never
// contacts a server; the records go to the orchestrator like roots do.
import { readFile, stat } from 'node:fs/promises';
import {
  UsageError, buildOwnershipBody, countValidSignatures, decodePublicKey, formatWireTime, keyIdOf, ownershipEnvelope,
  roleKeysOf, signOwnership, toEpochSeconds, type OwnershipEnvelope, type OwnershipSigned, type SigningKey,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KeyToolError, usageError } from './errors.js';
import { generateSigningKey, readKeyFileInfo, readPrivateKeyFile, writeFileAtomic, writePrivateKeyFile, writePublicKeyFile } from './key-file.js';
import { loadKeySet } from './key-set.js';

export interface OwnerInitResult {
  keyFile: string;
  publicFile: string;
  keyid: string;
  publicKey: string;
}

/** `keys owner-init`: a new owner key (private file 0600, public file 0644 to hand to the vendor). */
export async function initOwnerKey(options: { out: string; force?: boolean }): Promise<OwnerInitResult> {
  const publicFile = `${options.out.replace(/\.(key|json)$/, '')}.pub.json`;
  for (const path of [options.out, publicFile]) {
    if (!options.force && (await stat(path).catch(() => undefined))) throw new KeyToolError('output_exists', `${path} exists; pass --force to replace it`);
  }
  const key = generateSigningKey();
  await writePrivateKeyFile(options.out, 'owner', key);
  await writePublicKeyFile(publicFile, 'owner', key);
  const info = await readKeyFileInfo(publicFile);
  return { keyFile: options.out, publicFile, keyid: key.keyid, publicKey: info.publicKey };
}

/** An owner public key given as a key file (private or public) or as its base64url text. */
async function ownerPublicKey(given: string): Promise<Uint8Array> {
  const direct = decodePublicKey(given);
  if (direct) return direct;
  const info = await readKeyFileInfo(given).catch(() => undefined);
  if (!info) throw usageError(`--owner-key ${given}: neither a key file nor a base64url public key`);
  if (info.role !== 'owner') throw usageError(`--owner-key ${given} holds a ${info.role} key, not an owner key`);
  return decodePublicKey(info.publicKey)!;
}

async function readRecord(path: string): Promise<OwnershipSigned> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    throw new KeyToolError('root_file', `ownership record ${path} is not readable JSON`);
  }
  const parsed = ownershipEnvelope.safeParse(json);
  if (!parsed.success) throw new KeyToolError('root_file', `${path} is not an ownership record`);
  return parsed.data.signed;
}

export interface OwnershipOptions {
  /** The key set: its current root's `root` role must sign the record. */
  dir: string;
  rootKeys: string[];
  out: string;
  /** Enrolment: the device; a transfer or revocation reads it from `previous`. */
  deviceId?: string;
  /** The record this one supersedes (transfer, revocation): the new version is its version + 1. */
  previous?: string;
  /** The new owner's public key; omitted: revoke. */
  ownerKey?: string;
  force?: boolean;
  now?: number;
}

export interface OwnershipResult {
  out: string;
  record: OwnershipSigned;
  ownerKeyid?: string;
  signatures: number;
  threshold: number;
  /** Whether the root role's threshold of the key set's current root is met (else: more officers sign). */
  complete: boolean;
}

/**
 * `keys owner-enrol | owner-transfer | owner-revoke`: writes an ownership record signed by the
 * given root keys, checked against the current root's `root` threshold.
 */
export async function writeOwnershipRecord(options: OwnershipOptions): Promise<OwnershipResult> {
  if (options.rootKeys.length === 0) throw usageError('pass at least one --root-key');
  if (!options.force && (await stat(options.out).catch(() => undefined))) throw new KeyToolError('output_exists', `${options.out} exists; pass --force to replace it`);
  const previous = options.previous ? await readRecord(options.previous) : undefined;
  const deviceId = previous?.deviceId ?? options.deviceId;
  if (!deviceId) throw usageError('pass --device (enrolment) or --previous (transfer, revocation)');
  if (previous && options.deviceId && options.deviceId !== previous.deviceId) throw usageError(`--previous is the record of ${previous.deviceId}, not ${options.deviceId}`);
  const keySet = await loadKeySet(options.dir);
  const root = keySet.trusted.envelope.signed;
  const signers: SigningKey[] = [];
  for (const path of options.rootKeys) signers.push(await readPrivateKeyFile(path, 'root'));
  const owner = options.ownerKey ? await ownerPublicKey(options.ownerKey) : undefined;
  let envelope: OwnershipEnvelope;
  try {
    const body = buildOwnershipBody({
      deviceId,
      version: previous ? previous.version + 1 : 1,
      ...(owner ? { ownerPublicKey: owner } : {}),
      issuedAt: formatWireTime(options.now ?? toEpochSeconds(new Date())),
    });
    envelope = signOwnership(body, signers, nodeEd25519);
  } catch (error) {
    if (error instanceof UsageError) throw usageError(error.message);
    throw error;
  }
  const role = roleKeysOf(root, 'root');
  const signatures = countValidSignatures(envelope, role, nodeEd25519);
  // Records are public: they travel in directive messages.
  await writeFileAtomic(options.out, `${JSON.stringify(envelope, null, 2)}\n`, 0o644);
  return {
    out: options.out,
    record: envelope.signed,
    ...(owner ? { ownerKeyid: keyIdOf(owner) } : {}),
    signatures,
    threshold: role.threshold,
    complete: signatures >= role.threshold,
  };
}
