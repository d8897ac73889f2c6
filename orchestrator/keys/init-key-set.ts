// `keys init`: a fresh key set from nothing. Generates root, release and director keys (0600)
// and root v1 signed by every root key (docs/protocol.md#root-document). Does not rotate.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError, buildRootBody, formatWireTime, signRoot, toEpochSeconds, type Role, type SigningKey } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KeyToolError, usageError } from './errors.js';
import { generateSigningKey, writePrivateKeyFile } from './key-file.js';
import { KEY_ROLES, keyFileName, keySetFiles, rootFileName, verifyRootStep, writeRootFile } from './key-set.js';

/** Defaults: a 2-of-3 root held by officers, one online director key, one release key. */
export const INIT_DEFAULTS = {
  rootKeys: 3,
  rootThreshold: 2,
  releaseKeys: 1,
  releaseThreshold: 1,
  directorKeys: 1,
  directorThreshold: 1,
  expiresDays: 365,
} as const;

/** Bounded so a root stays well under the 64-key limit and an envelope under 16 signatures. */
export const MAX_KEYS_PER_ROLE = 16;

export interface InitOptions {
  dir: string;
  rootKeys?: number;
  rootThreshold?: number;
  releaseKeys?: number;
  releaseThreshold?: number;
  directorKeys?: number;
  directorThreshold?: number;
  expiresDays?: number;
  force?: boolean;
  /** Epoch seconds; defaults to the clock. */
  now?: number;
}

export interface CreatedKey {
  role: Role;
  keyid: string;
  file: string;
}

export interface InitResult {
  dir: string;
  keys: CreatedKey[];
  root: { file: string; version: number; expiresAt: string; thresholds: Record<Role, string> };
}

function checkRole(role: Role, count: number, threshold: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_KEYS_PER_ROLE) throw usageError(`--${role}-keys must be 1..${MAX_KEYS_PER_ROLE}`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > count) throw usageError(`--${role}-threshold must be 1..${count} (the number of ${role} keys)`);
}

export async function initKeySet(options: InitOptions): Promise<InitResult> {
  const spec = {
    root: { count: options.rootKeys ?? INIT_DEFAULTS.rootKeys, threshold: options.rootThreshold ?? INIT_DEFAULTS.rootThreshold },
    release: { count: options.releaseKeys ?? INIT_DEFAULTS.releaseKeys, threshold: options.releaseThreshold ?? INIT_DEFAULTS.releaseThreshold },
    director: { count: options.directorKeys ?? INIT_DEFAULTS.directorKeys, threshold: options.directorThreshold ?? INIT_DEFAULTS.directorThreshold },
  };
  for (const role of KEY_ROLES) checkRole(role, spec[role].count, spec[role].threshold);
  const expiresDays = options.expiresDays ?? INIT_DEFAULTS.expiresDays;
  if (!Number.isInteger(expiresDays) || expiresDays < 1) throw usageError('--expires-days must be a positive integer');

  const existing = await keySetFiles(options.dir);
  if (existing.length > 0 && !options.force) {
    throw new KeyToolError('key_set_exists', `${options.dir} already holds a key set (${existing.join(', ')}); pass --force to replace it`);
  }

  const generated = Object.fromEntries(KEY_ROLES.map((role) => [role, Array.from({ length: spec[role].count }, generateSigningKey)])) as Record<Role, SigningKey[]>;
  const now = options.now ?? toEpochSeconds(new Date());
  const expiresAt = formatWireTime(now + expiresDays * 86_400);
  let envelope;
  try {
    const body = buildRootBody({
      version: 1,
      expiresAt,
      roles: {
        root: { publicKeys: generated.root.map((k) => k.publicKey), threshold: spec.root.threshold },
        release: { publicKeys: generated.release.map((k) => k.publicKey), threshold: spec.release.threshold },
        director: { publicKeys: generated.director.map((k) => k.publicKey), threshold: spec.director.threshold },
      },
    });
    // Every officer signs v1 at the ceremony: more than the threshold costs nothing here.
    envelope = signRoot(body, generated.root, nodeEd25519);
  } catch (error) {
    if (error instanceof UsageError) throw usageError(error.message);
    throw error;
  }
  const check = verifyRootStep(undefined, envelope);
  if (!check.ok) throw new KeyToolError('root_file', `root v1 does not verify: ${check.problem}`);

  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  // --force replaces the whole set: stale roots or keys would otherwise mix with the new ones.
  for (const name of existing) await rm(join(options.dir, name));

  const keys: CreatedKey[] = [];
  for (const role of KEY_ROLES) {
    for (const [i, key] of generated[role].entries()) {
      const file = keyFileName(role, i + 1);
      await writePrivateKeyFile(join(options.dir, file), role, key);
      keys.push({ role, keyid: key.keyid, file });
    }
  }
  const rootFile = rootFileName(1);
  await writeRootFile(join(options.dir, rootFile), envelope);
  const thresholds = Object.fromEntries(KEY_ROLES.map((role) => [role, `${spec[role].threshold} of ${spec[role].count}`])) as Record<Role, string>;
  return { dir: options.dir, keys, root: { file: rootFile, version: 1, expiresAt, thresholds } };
}
