// `keys sign-root`: one officer adds their signature to a root file (offline k-of-n signing),
// then learns whether the root now meets its thresholds. It never changes the signed body.
import { basename } from 'node:path';
import { addSignatures, type RootEnvelope, type RootSigned } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KeyToolError } from './errors.js';
import { readPrivateKeyFile } from './key-file.js';
import { loadKeySet, readRootFile, verifyRootStep, writeRootFile } from './key-set.js';

/** docs/protocol.md#signed-envelope: an envelope carries at most 16 signatures. */
const MAX_SIGNATURES = 16;

export interface SignRootOptions {
  /** The key set holding the chain up to the root being signed (for its predecessor). */
  dir: string;
  root: string;
  keys: string[];
}

export interface SignRootResult {
  file: string;
  version: number;
  added: string[];
  signatures: number;
  /** True when the root verifies (v1: its own threshold; vN: N-1's and its own). */
  complete: boolean;
  problem?: string;
}

function shapeOf(envelope: RootEnvelope): { version: number } {
  const version = (envelope as { signed?: { version?: unknown } }).signed?.version;
  if (typeof version !== 'number' || !Array.isArray(envelope.signatures)) throw new KeyToolError('root_file', 'not a root envelope');
  return { version };
}

export async function signRootFile(options: SignRootOptions): Promise<SignRootResult> {
  const envelope = await readRootFile(options.root);
  const { version } = shapeOf(envelope);
  let previous: RootSigned | undefined;
  if (version > 1) {
    const keySet = await loadKeySet(options.dir);
    const entry = keySet.roots.find((r) => r.version === version - 1 && r.verified);
    if (!entry) throw new KeyToolError('no_key_set', `${options.dir} holds no verified root v${version - 1} to check v${version} against`);
    previous = entry.envelope.signed;
  }
  const listed = new Set([...(previous?.roles.root.keyids ?? []), ...(envelope.signed.roles?.root?.keyids ?? [])]);
  const keys = [];
  for (const path of options.keys) {
    const key = await readPrivateKeyFile(path, 'root');
    if (!listed.has(key.keyid)) throw new KeyToolError('key_not_listed', `${basename(path)} (${key.keyid.slice(0, 16)}) is not a root key of v${version} or of its predecessor`);
    keys.push(key);
  }
  const before = new Set(envelope.signatures.map((s) => s.keyid));
  const signed = addSignatures(envelope, keys, nodeEd25519);
  if (signed.signatures.length > MAX_SIGNATURES) throw new KeyToolError('too_many_signatures', `a root carries at most ${MAX_SIGNATURES} signatures`);
  const verdict = verifyRootStep(previous, signed);
  await writeRootFile(options.root, signed);
  return {
    file: options.root,
    version,
    added: keys.map((k) => k.keyid).filter((id) => !before.has(id)),
    signatures: signed.signatures.length,
    complete: verdict.ok,
    ...(verdict.ok ? {} : { problem: verdict.problem }),
  };
}
