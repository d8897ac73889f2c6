// The layout of a key-set directory and how it is read back: private keys `<role>-<n>.key`
// (0600) and root versions `root.<N>.json` (0644), the chain verified from root.1.json up.
// It creates nothing; init, rotate and sign-root write through it.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ProtocolError,
  verifyNextRoot,
  verifyTrustAnchor,
  type Role,
  type RootEnvelope,
  type RootSigned,
  type SigningKey,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KeyToolError } from './errors.js';
import { readKeyFileInfo, readPrivateKeyFile, writeFileAtomic } from './key-file.js';

export const KEY_ROLES = ['root', 'release', 'director'] as const satisfies readonly Role[];
const KEY_FILE = /^(root|release|director)-([1-9]\d{0,5})\.key$/;
const ROOT_FILE = /^root\.([1-9]\d{0,8})\.json$/;
/** Root documents are small (at most 64 keys); anything larger is not one of ours. */
const MAX_ROOT_FILE_BYTES = 256 * 1024;

export function keyFileName(role: Role, index: number): string {
  return `${role}-${index}.key`;
}

export function rootFileName(version: number): string {
  return `root.${version}.json`;
}

export interface KeyEntry {
  file: string;
  path: string;
  role: Role;
  index: number;
  keyid: string;
  publicKey: string;
  mode: number;
}

export interface RootEntry {
  file: string;
  path: string;
  version: number;
  envelope: RootEnvelope;
  /** True when the chain from root.1.json through this version verifies. */
  verified: boolean;
  /** Why it does not verify (a root_invalid detail), when it does not. */
  problem?: string;
}

export interface KeySet {
  dir: string;
  keys: KeyEntry[];
  roots: RootEntry[];
  /** The newest root whose whole chain verifies. */
  trusted: RootEntry;
}

export async function readRootFile(path: string): Promise<RootEnvelope> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new KeyToolError('root_file', `root file ${path} not found`);
  if (info.size > MAX_ROOT_FILE_BYTES) throw new KeyToolError('root_file', `root file ${path} is larger than ${MAX_ROOT_FILE_BYTES} bytes`);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as RootEnvelope;
  } catch {
    throw new KeyToolError('root_file', `root file ${path} is not JSON`);
  }
}

export async function writeRootFile(path: string, envelope: RootEnvelope): Promise<void> {
  // Roots are public: devices and the orchestrator read them.
  await writeFileAtomic(path, `${JSON.stringify(envelope, null, 2)}\n`, 0o644);
}

/** Names of the files in `dir` that belong to a key set (empty if `dir` does not exist). */
export async function keySetFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  return names.filter((name) => KEY_FILE.test(name) || ROOT_FILE.test(name)).sort();
}

/** Verifies a root envelope as the successor of `previous` (or as v1 when there is none). */
export function verifyRootStep(previous: RootSigned | undefined, envelope: RootEnvelope): { ok: true; root: RootSigned } | { ok: false; problem: string } {
  try {
    const root = previous ? verifyNextRoot(previous, envelope, nodeEd25519) : verifyTrustAnchor(envelope, nodeEd25519);
    if (!previous && root.version !== 1) return { ok: false, problem: `the first root is version ${root.version}, not 1` };
    return { ok: true, root };
  } catch (error) {
    if (error instanceof ProtocolError) return { ok: false, problem: error.message };
    throw error;
  }
}

/** Reads every key file (public parts only) and walks the root chain from root.1.json. */
export async function loadKeySet(dir: string): Promise<KeySet> {
  const names = await keySetFiles(dir);
  const keys: KeyEntry[] = [];
  const roots: RootEntry[] = [];
  for (const file of names) {
    const path = join(dir, file);
    const keyMatch = KEY_FILE.exec(file);
    if (keyMatch) {
      const info = await readKeyFileInfo(path);
      keys.push({ file, path, role: keyMatch[1] as Role, index: Number(keyMatch[2]), keyid: info.keyid, publicKey: info.publicKey, mode: info.mode });
      continue;
    }
    const version = Number(ROOT_FILE.exec(file)![1]);
    roots.push({ file, path, version, envelope: await readRootFile(path), verified: false });
  }
  roots.sort((a, b) => a.version - b.version);
  keys.sort((a, b) => KEY_ROLES.indexOf(a.role) - KEY_ROLES.indexOf(b.role) || a.index - b.index);

  let previous: RootSigned | undefined;
  let trusted: RootEntry | undefined;
  for (const entry of roots) {
    const expected = (previous?.version ?? 0) + 1;
    if (entry.version !== expected) {
      entry.problem = `expected ${rootFileName(expected)} before it`;
      break;
    }
    const step = verifyRootStep(previous, entry.envelope);
    if (!step.ok) {
      entry.problem = step.problem;
      break;
    }
    if (step.root.version !== entry.version) {
      entry.problem = `${entry.file} holds root version ${step.root.version}`;
      break;
    }
    entry.verified = true;
    previous = step.root;
    trusted = entry;
  }
  if (!trusted) {
    const problem = roots[0]?.problem;
    throw new KeyToolError('no_key_set', problem ? `${dir}: ${rootFileName(1)} does not verify: ${problem}` : `${dir} holds no ${rootFileName(1)}; run fleet-ota keys init`);
  }
  return { dir, keys, roots, trusted };
}

/** The next free index for `role` in a key set (`<role>-<n>.key`). */
export function nextKeyIndex(keys: readonly KeyEntry[], role: Role): number {
  return keys.filter((k) => k.role === role).reduce((max, k) => Math.max(max, k.index), 0) + 1;
}

/** Private root keys held in the key set whose keyids are in `keyids` (files must be 0600). */
export async function heldRootKeys(keySet: KeySet, keyids: ReadonlySet<string>): Promise<SigningKey[]> {
  const held: SigningKey[] = [];
  for (const entry of keySet.keys) {
    if (entry.role !== 'root' || !keyids.has(entry.keyid)) continue;
    held.push(await readPrivateKeyFile(entry.path, 'root'));
  }
  return held;
}
