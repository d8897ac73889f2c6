// `keys rotate` and `keys revoke`: every key change is a new root version N+1 (docs/protocol.md#root-chain:
// "Rotating or revoking any key is a new root version"), signed by a threshold of root N's
// root keys AND of its own, and checked with verifyNextRoot before anything is written.
import { join } from 'node:path';
import {
  UsageError,
  buildRootBody,
  decodePublicKey,
  formatWireTime,
  signRoot,
  toEpochSeconds,
  type Role,
  type RootEnvelope,
  type RootSigned,
  type SigningKey,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KeyToolError, usageError } from './errors.js';
import { generateSigningKey, writePrivateKeyFile } from './key-file.js';
import { MAX_KEYS_PER_ROLE, type CreatedKey } from './init-key-set.js';
import { KEY_ROLES, heldRootKeys, keyFileName, loadKeySet, nextKeyIndex, rootFileName, verifyRootStep, writeRootFile, type KeySet } from './key-set.js';

export const NEXT_ROOT_DEFAULTS = { expiresDays: 365 } as const;
/** docs/protocol.md#signed-envelope: an envelope carries at most 16 signatures. */
const MAX_SIGNATURES = 16;

export interface RoleChange {
  role: Role;
  /** Keyids that leave the role. */
  remove: string[];
  /** How many fresh keys join it. */
  add: number;
  /** New threshold; the current one when omitted. */
  threshold?: number;
}

export interface NextRootOptions {
  dir: string;
  change: RoleChange;
  expiresDays?: number;
  /** Write the new root even when the keys held here cannot meet both thresholds (finish with sign-root). */
  partial?: boolean;
  now?: number;
}

export interface NextRootResult {
  dir: string;
  root: { file: string; version: number; expiresAt: string; thresholds: Record<Role, string>; signatures: number; complete: boolean; problem?: string };
  added: CreatedKey[];
  removed: string[];
}

/** Resolves a keyid, a unique keyid prefix (8+ hex chars) or a key file of the set to a keyid listed by `role`. */
export function resolveKeyid(keySet: KeySet, root: RootSigned, role: Role, ref: string): string {
  const byFile = keySet.keys.find((k) => k.file === ref || k.path === ref);
  const listed = root.roles[role].keyids;
  const candidates = byFile ? listed.filter((id) => id === byFile.keyid) : ref.length >= 8 ? listed.filter((id) => id.startsWith(ref.toLowerCase())) : [];
  if (candidates.length !== 1) {
    throw new KeyToolError('unknown_key', candidates.length > 1 ? `${ref} matches several ${role} keys` : `${ref} is not a ${role} key of root v${root.version}`, 2);
  }
  return candidates[0]!;
}

function publicKeysOf(root: RootSigned, role: Role): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const keyid of root.roles[role].keyids) {
    const entry = root.keys[keyid];
    const publicKey = entry ? decodePublicKey(entry.public) : undefined;
    if (publicKey) out.set(keyid, publicKey);
  }
  return out;
}

/**
 * Picks signers so the envelope meets the old and the new root threshold within 16 signatures:
 * keys in both roles first, then the old role's, then the new role's.
 */
export function chooseRootSigners(held: readonly SigningKey[], oldRole: { keyids: readonly string[]; threshold: number }, newRole: { keyids: readonly string[]; threshold: number }): SigningKey[] {
  const inOld = (k: SigningKey) => oldRole.keyids.includes(k.keyid);
  const inNew = (k: SigningKey) => newRole.keyids.includes(k.keyid);
  const picked: SigningKey[] = [];
  const count = (pred: (k: SigningKey) => boolean) => picked.filter(pred).length;
  const take = (pred: (k: SigningKey) => boolean, enough: () => boolean) => {
    for (const key of held) {
      if (enough() || picked.length >= MAX_SIGNATURES) return;
      if (pred(key) && !picked.includes(key)) picked.push(key);
    }
  };
  take((k) => inOld(k) && inNew(k), () => count(inOld) >= oldRole.threshold && count(inNew) >= newRole.threshold);
  take(inOld, () => count(inOld) >= oldRole.threshold);
  take(inNew, () => count(inNew) >= newRole.threshold);
  return picked;
}

export async function writeNextRoot(options: NextRootOptions): Promise<NextRootResult> {
  const expiresDays = options.expiresDays ?? NEXT_ROOT_DEFAULTS.expiresDays;
  if (!Number.isInteger(expiresDays) || expiresDays < 1) throw usageError('--expires-days must be a positive integer');
  const keySet = await loadKeySet(options.dir);
  const pending = keySet.roots.find((r) => r.version > keySet.trusted.version);
  if (pending) {
    throw new KeyToolError('pending_root', `${pending.file} is not fully signed (${pending.problem ?? 'unverified'}); finish it with keys sign-root or remove it`);
  }
  const current = keySet.trusted.envelope.signed;
  const { change } = options;

  const roles = Object.fromEntries(KEY_ROLES.map((role) => [role, publicKeysOf(current, role)])) as Record<Role, Map<string, Uint8Array>>;
  const target = roles[change.role];
  for (const keyid of change.remove) target.delete(keyid);
  const fresh = Array.from({ length: change.add }, generateSigningKey);
  for (const key of fresh) target.set(key.keyid, key.publicKey);
  const threshold = change.threshold ?? current.roles[change.role].threshold;
  if (target.size === 0) throw new KeyToolError('threshold_unmeetable', `the ${change.role} role would have no keys left`, 2);
  if (target.size > MAX_KEYS_PER_ROLE) throw usageError(`the ${change.role} role would have more than ${MAX_KEYS_PER_ROLE} keys`);
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > target.size) {
    throw new KeyToolError('threshold_unmeetable', `a ${change.role} threshold of ${threshold} cannot be met by ${target.size} key(s); lower it with --threshold`, 2);
  }

  const version = current.version + 1;
  const expiresAt = formatWireTime((options.now ?? toEpochSeconds(new Date())) + expiresDays * 86_400);
  let body: RootSigned;
  try {
    body = buildRootBody({
      version,
      expiresAt,
      roles: Object.fromEntries(KEY_ROLES.map((role) => [role, {
        publicKeys: [...roles[role].values()],
        threshold: role === change.role ? threshold : current.roles[role].threshold,
      }])) as Record<Role, { publicKeys: Uint8Array[]; threshold: number }>,
    });
  } catch (error) {
    if (error instanceof UsageError) throw usageError(error.message);
    throw error;
  }

  const relevant = new Set([...current.roles.root.keyids, ...body.roles.root.keyids]);
  const held = [...(await heldRootKeys(keySet, relevant)), ...(change.role === 'root' ? fresh : [])];
  const signers = chooseRootSigners(held, current.roles.root, body.roles.root);
  const envelope: RootEnvelope = signRoot(body, signers, nodeEd25519);
  const verdict = verifyRootStep(current, envelope);
  if (!verdict.ok && !options.partial) {
    throw new KeyToolError('threshold_not_met', `root v${version} would not verify with the root keys held in ${options.dir} (${verdict.problem}); nothing written. Use --partial and keys sign-root to collect signatures`);
  }

  const added: CreatedKey[] = [];
  let index = nextKeyIndex(keySet.keys, change.role);
  for (const key of fresh) {
    const file = keyFileName(change.role, index++);
    await writePrivateKeyFile(join(options.dir, file), change.role, key);
    added.push({ role: change.role, keyid: key.keyid, file });
  }
  const file = rootFileName(version);
  await writeRootFile(join(options.dir, file), envelope);
  const thresholds = Object.fromEntries(KEY_ROLES.map((role) => [role, `${body.roles[role].threshold} of ${body.roles[role].keyids.length}`])) as Record<Role, string>;
  return {
    dir: options.dir,
    root: { file, version, expiresAt, thresholds, signatures: envelope.signatures.length, complete: verdict.ok, ...(verdict.ok ? {} : { problem: verdict.problem }) },
    added,
    removed: change.remove,
  };
}
