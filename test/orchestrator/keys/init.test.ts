// `fleet-ota keys init` and `keys show` through the real binary: a working key set from nothing.
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nobleEd25519, verifyTrustAnchor } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { CLI_TEST_TIMEOUT_MS, readRoot, runCli, runJson, tempDir } from './run-cli.js';

interface InitJson {
  keys: { role: string; keyid: string; file: string }[];
  root: { file: string; version: number; expiresAt: string };
}

describe('fleet-ota keys init', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  let init: InitJson;
  beforeAll(async () => {
    temp = await tempDir();
    dir = join(temp.path, 'keys');
    init = await runJson<InitJson>(['keys', 'init', '--dir', dir]);
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(() => temp.remove());

  it('creates 3 root, 1 release and 1 director key file, each mode 0600, and root.1.json', async () => {
    expect((await readdir(dir)).sort()).toEqual(['director-1.key', 'release-1.key', 'root-1.key', 'root-2.key', 'root-3.key', 'root.1.json']);
    for (const k of init.keys) expect(((await stat(join(dir, k.file))).mode & 0o777).toString(8), k.file).toBe('600');
    expect(((await stat(join(dir, 'root.1.json'))).mode & 0o777).toString(8)).toBe('644');
    expect(((await stat(dir)).mode & 0o777).toString(8)).toBe('700');
  });

  it('writes a root v1 that verifyTrustAnchor accepts (both backends), 2 of 3 root keys, signed by all 3', async () => {
    const root = await readRoot(dir, 1);
    for (const backend of [nodeEd25519, nobleEd25519]) expect(verifyTrustAnchor(root, backend).version).toBe(1);
    expect(root.signed.roles.root).toEqual({ keyids: init.keys.filter((k) => k.role === 'root').map((k) => k.keyid), threshold: 2 });
    expect(root.signatures).toHaveLength(3);
    expect(root.signed.roles.director.keyids).toEqual([init.keys.find((k) => k.role === 'director')!.keyid]);
    const days = (Date.parse(root.signed.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThanOrEqual(365);
  });

  it('never prints a secret key', async () => {
    const human = await runCli(['keys', 'show', '--dir', dir]);
    const json = await runCli(['keys', 'show', '--dir', dir, '--json']);
    for (const k of init.keys) {
      const { secretKey } = JSON.parse(await readFile(join(dir, k.file), 'utf8')) as { secretKey: string };
      for (const out of [human.stdout, human.stderr, json.stdout, JSON.stringify(init)]) expect(out).not.toContain(secretKey);
    }
  });

  it('show lists key ids, roles and root versions', async () => {
    const show = await runJson<{ currentRoot: number; keys: { file: string; role: string; keyid: string; mode: string }[]; roots: { version: number; verified: boolean }[] }>(['keys', 'show', '--dir', dir]);
    expect(show.currentRoot).toBe(1);
    expect(show.keys.map((k) => [k.file, k.role, k.keyid, k.mode])).toEqual(
      ['root', 'release', 'director'].flatMap((role) => init.keys.filter((k) => k.role === role).map((k) => [k.file, k.role, k.keyid, '0600'])),
    );
    expect(show.roots).toMatchObject([{ version: 1, verified: true }]);
  });

  it('refuses to overwrite an existing key set without --force (exit 1, key_set_exists)', async () => {
    const before = await readFile(join(dir, 'root-1.key'), 'utf8');
    const again = await runCli(['keys', 'init', '--dir', dir]);
    expect([again.status, again.code]).toEqual([1, 'key_set_exists']);
    expect(await readFile(join(dir, 'root-1.key'), 'utf8')).toBe(before);
  });

  it('replaces the key set with --force, honouring the role options', async () => {
    const other = join(temp.path, 'forced');
    await runJson(['keys', 'init', '--dir', other]);
    const first = await readRoot(other, 1);
    const forced = await runJson<InitJson>(['keys', 'init', '--dir', other, '--force', '--root-keys', '5', '--root-threshold', '3', '--release-keys', '2', '--release-threshold', '2', '--director-keys', '2', '--expires-days', '30']);
    const root = await readRoot(other, 1);
    expect(root.signed.roles.root.keyids).toHaveLength(5);
    expect(root.signed.roles.root.threshold).toBe(3);
    expect(root.signed.roles.release).toMatchObject({ threshold: 2 });
    expect(root.signed.roles.director.keyids).toHaveLength(2);
    expect(root.signed.roles.root.keyids).not.toContain(first.signed.roles.root.keyids[0]);
    expect(forced.keys).toHaveLength(9);
    expect(verifyTrustAnchor(root, nodeEd25519).version).toBe(1);
  });

  it.each([
    [['--root-threshold', '4']],
    [['--root-keys', '0']],
    [['--release-threshold', 'two']],
    [['--expires-days', '-1']],
  ])('exits 2 on a usage error: %j', async (extra) => {
    const bad = await runCli(['keys', 'init', '--dir', join(temp.path, 'bad'), ...extra]);
    expect(bad.status).toBe(2);
    expect(await readdir(join(temp.path, 'bad')).catch(() => [])).toEqual([]);
  });
});
