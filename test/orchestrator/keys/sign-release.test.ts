// `fleet-ota keys sign-release` through the real binary: a manifest signed offline that a
// device accepts once a directive signed by the director key wraps it.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDirectiveBody,
  checkDirectiveMessage,
  encodeDirectiveMessage,
  formatWireTime,
  manifestDigest,
  nobleEd25519,
  signDirective,
  toEpochSeconds,
  type ReleaseEnvelope,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { readPrivateKeyFile } from '../../../orchestrator/keys/key-file.js';
import { CLI_TEST_TIMEOUT_MS, readRoot, runCli, runJson, tempDir } from './run-cli.js';

describe('fleet-ota keys sign-release', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  let artifact: Buffer;
  const manifestArgs = (out: string) => ['--uri', 'https://artifacts.example.test/gw-2/fw-7.bin', '--release-id', 'gw2-fw-7', '--version', '1.7.0', '--sequence', '7', '--vendor', 'acme', '--class', 'gw-2', '--out', out];

  beforeAll(async () => {
    temp = await tempDir();
    dir = join(temp.path, 'keys');
    await runJson(['keys', 'init', '--dir', dir]);
    // Several stream chunks (64 KiB each), and not a multiple of the chunk size.
    artifact = randomBytes(3 * 1024 * 1024 + 123);
    await writeFile(join(temp.path, 'fw-7.bin'), artifact);
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(() => temp.remove());

  it('hashes the artifact, signs the manifest and writes it 0644; a device accepts it inside a director-signed directive', async () => {
    const out = join(temp.path, 'fw-7.manifest.json');
    const result = await runJson<{ manifestSha256: string }>(['keys', 'sign-release', '--key', join(dir, 'release-1.key'), '--artifact', join(temp.path, 'fw-7.bin'), '--min-sequence', '3', '--expires-days', '90', ...manifestArgs(out)]);
    expect(((await stat(out)).mode & 0o777).toString(8)).toBe('644');
    const release = JSON.parse(await readFile(out, 'utf8')) as ReleaseEnvelope;
    expect(release.signed.payload).toEqual({ sha256: createHash('sha256').update(artifact).digest('hex'), size: artifact.length, uri: 'https://artifacts.example.test/gw-2/fw-7.bin' });
    expect(release.signed).toMatchObject({ releaseId: 'gw2-fw-7', version: '1.7.0', sequence: 7, vendorId: 'acme', classId: 'gw-2', minSequence: 3 });
    expect(result.manifestSha256).toBe(manifestDigest(release));

    const now = toEpochSeconds(new Date());
    const director = await readPrivateKeyFile(join(dir, 'director-1.key'), 'director');
    const directive = signDirective(buildDirectiveBody({
      deviceId: 'dev-1', rolloutId: 'r-1', wave: 0, action: 'install', manifestSha256: result.manifestSha256, counter: 1, rootVersion: 1,
      issuedAt: formatWireTime(now), expiresAt: formatWireTime(now + 3600), policy: { mode: 'auto' },
    }), [director], nodeEd25519);
    const bytes = encodeDirectiveMessage({ directive, release, roots: [] });
    const state = { root: (await readRoot(dir, 1)).signed, deviceId: 'dev-1', counter: 0, sequence: 3, vendorId: 'acme', classId: 'gw-2' };
    for (const backend of [nodeEd25519, nobleEd25519]) {
      const check = checkDirectiveMessage(state, bytes, now, backend);
      expect(check.ok ? check.plan.release : check.reason).toEqual(release.signed);
    }
    // The release key cannot stand in for the director (role separation holds for CLI keys too).
    const releaseKey = await readPrivateKeyFile(join(dir, 'release-1.key'), 'release');
    const confused = encodeDirectiveMessage({ directive: signDirective(directive.signed, [releaseKey], nodeEd25519), release, roots: [] });
    expect(checkDirectiveMessage(state, confused, now, nodeEd25519)).toMatchObject({ ok: false, reason: 'directive_signature' });
  });

  it('accepts --sha256 and --size instead of --artifact', async () => {
    const out = join(temp.path, 'given.json');
    const sha256 = 'ab'.repeat(32);
    await runJson(['keys', 'sign-release', '--key', join(dir, 'release-1.key'), '--sha256', sha256, '--size', '42', ...manifestArgs(out)]);
    const release = JSON.parse(await readFile(out, 'utf8')) as ReleaseEnvelope;
    expect(release.signed.payload).toMatchObject({ sha256, size: 42 });
    expect('expiresAt' in release.signed).toBe(false);
  });

  it('refuses a missing key file (exit 1, key_file) and writes nothing', async () => {
    const out = join(temp.path, 'missing-key.json');
    const result = await runCli(['keys', 'sign-release', '--key', join(dir, 'release-9.key'), '--artifact', join(temp.path, 'fw-7.bin'), ...manifestArgs(out)]);
    expect([result.status, result.code]).toEqual([1, 'key_file']);
    await expect(stat(out)).rejects.toThrow();
  });

  it('refuses a key file readable by others (mode 0644: key_permissions)', async () => {
    const exposed = join(temp.path, 'exposed-release.key');
    await copyFile(join(dir, 'release-1.key'), exposed);
    await chmod(exposed, 0o644);
    const out = join(temp.path, 'exposed.json');
    const result = await runCli(['keys', 'sign-release', '--key', exposed, '--sha256', 'ab'.repeat(32), '--size', '1', ...manifestArgs(out)]);
    expect([result.status, result.code]).toEqual([1, 'key_permissions']);
    await expect(stat(out)).rejects.toThrow();
  });

  it('refuses a director key in place of a release key (key_file)', async () => {
    const result = await runCli(['keys', 'sign-release', '--key', join(dir, 'director-1.key'), '--sha256', 'ab'.repeat(32), '--size', '1', ...manifestArgs(join(temp.path, 'x.json'))]);
    expect([result.status, result.code]).toEqual([1, 'key_file']);
  });

  it.each([
    ['both --artifact and --sha256', ['--artifact', 'fw-7.bin', '--sha256', 'ab'.repeat(32), '--size', '1']],
    ['neither --artifact nor --sha256', []],
    ['a bad sha256', ['--sha256', 'xyz', '--size', '1']],
  ])('exits 2 on a usage error: %s', async (_what, extra) => {
    const result = await runCli(['keys', 'sign-release', '--key', join(dir, 'release-1.key'), ...extra, ...manifestArgs(join(temp.path, 'usage.json'))], temp.path);
    expect([result.status, result.code]).toEqual([2, 'usage']);
  });

  it('exits 2 on a bad version or a missing required option', async () => {
    const out = join(temp.path, 'bad-version.json');
    const args = manifestArgs(out);
    args[args.indexOf('--version') + 1] = 'v1.7';
    const bad = await runCli(['keys', 'sign-release', '--key', join(dir, 'release-1.key'), '--sha256', 'ab'.repeat(32), '--size', '1', ...args]);
    expect(bad.status).toBe(2);
    const missing = await runCli(['keys', 'sign-release', '--key', join(dir, 'release-1.key'), '--sha256', 'ab'.repeat(32), '--size', '1']);
    expect(missing.status).toBe(2);
  });

  it('refuses to overwrite an existing manifest without --force', async () => {
    const out = join(temp.path, 'twice.json');
    const args = ['keys', 'sign-release', '--key', join(dir, 'release-1.key'), '--sha256', 'cd'.repeat(32), '--size', '2', ...manifestArgs(out)];
    expect((await runCli(args)).status).toBe(0);
    expect(await runCli(args)).toMatchObject({ status: 1, code: 'output_exists' });
    expect((await runCli([...args, '--force'])).status).toBe(0);
  });
});
