// Key files: one JSON file per key, written 0600 (private) or 0644 (public only), replaced
// atomically (temp file, then rename). A private key is read only by the role that holds it.
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { decodePublicKey, encodePublicKey, fromBase64url, keyIdOf, toBase64url, type SigningKey } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KeyToolError } from './errors.js';

export type KeyRole = 'root' | 'release' | 'director' | 'device' | 'owner';

export interface PrivateKeyFile {
  role: KeyRole;
  keyid: string;
  publicKey: string;
  secretKey: string;
}

export function generateSigningKey(): SigningKey {
  const secretKey = new Uint8Array(randomBytes(32));
  const publicKey = nodeEd25519.publicKeyOf(secretKey);
  return { keyid: keyIdOf(publicKey), publicKey, secretKey };
}

/** Writes `text` to a temp file beside `path` with `mode`, then renames it over `path`. */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, text, { mode, flag: 'wx' });
  await chmod(temp, mode);
  await rename(temp, path);
}

export async function writePrivateKeyFile(path: string, role: KeyRole, key: SigningKey): Promise<void> {
  const file: PrivateKeyFile = { role, keyid: key.keyid, publicKey: encodePublicKey(key.publicKey), secretKey: toBase64url(key.secretKey) };
  await writeFileAtomic(path, `${JSON.stringify(file, null, 2)}\n`, 0o600);
}

export async function writePublicKeyFile(path: string, role: KeyRole, key: SigningKey): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify({ role, keyid: key.keyid, publicKey: encodePublicKey(key.publicKey) }, null, 2)}\n`, 0o644);
}

/** What a key file says about itself, without decoding the secret (for listings). */
export interface KeyFileInfo {
  role: KeyRole;
  keyid: string;
  publicKey: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
}

export async function readKeyFileInfo(path: string): Promise<KeyFileInfo> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new KeyToolError('key_file', `key file ${path} not found`);
  let file: Partial<PrivateKeyFile>;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as Partial<PrivateKeyFile>;
  } catch {
    throw new KeyToolError('key_file', `key file ${path} is not JSON`);
  }
  const publicKey = typeof file.publicKey === 'string' ? decodePublicKey(file.publicKey) : undefined;
  if (!publicKey || typeof file.role !== 'string') throw new KeyToolError('key_file', `key file ${path} names no role or public key`);
  return { role: file.role, keyid: keyIdOf(publicKey), publicKey: file.publicKey!, mode: info.mode & 0o777 };
}

/** Reads a private key file; refuses one readable by group or others (like ssh does). */
export async function readPrivateKeyFile(path: string, expectedRole?: KeyRole): Promise<SigningKey & { role: KeyRole }> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new KeyToolError('key_file', `key file ${path} not found`);
  if ((info.mode & 0o077) !== 0) {
    throw new KeyToolError('key_permissions', `key file ${path} is accessible by others (mode ${(info.mode & 0o777).toString(8)}); run chmod 600 ${path}`);
  }
  let file: PrivateKeyFile;
  try {
    file = JSON.parse(await readFile(path, 'utf8')) as PrivateKeyFile;
  } catch {
    throw new KeyToolError('key_file', `key file ${path} is not JSON`);
  }
  const secretKey = typeof file.secretKey === 'string' ? fromBase64url(file.secretKey) : undefined;
  if (!secretKey || secretKey.length !== 32) throw new KeyToolError('key_file', `key file ${path} holds no 32-byte secret key`);
  const publicKey = nodeEd25519.publicKeyOf(secretKey);
  if (file.publicKey !== undefined && decodePublicKey(file.publicKey) && encodePublicKey(publicKey) !== file.publicKey) {
    throw new KeyToolError('key_file', `key file ${path}: public key does not match the secret key`);
  }
  if (expectedRole && file.role !== expectedRole) throw new KeyToolError('key_file', `key file ${path} holds a ${file.role} key, not ${expectedRole}`);
  return { role: file.role, keyid: keyIdOf(publicKey), publicKey, secretKey };
}
