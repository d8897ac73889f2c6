// `fleet-ota keys rotate | revoke | sign-root` through the real binary: each key change is a
// root N+1 that updateRoot accepts from N, and rotated-out keys stop working on devices.
import { mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDirectiveBody,
  buildReleaseBody,
  checkDirectiveMessage,
  encodeDirectiveMessage,
  formatWireTime,
  manifestDigest,
  nobleEd25519,
  sha256Hex,
  signDirective,
  signRelease,
  toEpochSeconds,
  updateRoot,
  utf8,
  type RootEnvelope,
  type SigningKey,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { readPrivateKeyFile } from '../../../orchestrator/keys/key-file.js';
import { CLI_TEST_TIMEOUT_MS, readRoot, runCli, runJson, tempDir } from './run-cli.js';

const now = toEpochSeconds(new Date());

/** A directive message for dev-1 signed by the given director and release keys, carrying `roots`. */
function message(director: SigningKey, release: SigningKey, roots: RootEnvelope[], counter = 1): Uint8Array {
  const manifest = signRelease(buildReleaseBody({
    releaseId: 'fw-2', version: '2.0.0', sequence: 2, vendorId: 'acme', classId: 'gw',
    payload: { sha256: sha256Hex(utf8('fw-2')), size: 4, uri: 'https://artifacts.example.test/fw-2' }, createdAt: formatWireTime(now),
  }), [release], nodeEd25519);
  const directive = signDirective(buildDirectiveBody({
    deviceId: 'dev-1', rolloutId: 'r-1', wave: 0, action: 'install', manifestSha256: manifestDigest(manifest), counter, rootVersion: 1,
    issuedAt: formatWireTime(now), expiresAt: formatWireTime(now + 3600), policy: { mode: 'auto' },
  }), [director], nodeEd25519);
  return encodeDirectiveMessage({ directive, release: manifest, roots });
}

describe('fleet-ota keys rotate, revoke and sign-root', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  let v1: RootEnvelope;
  const key = (file: string) => readPrivateKeyFile(join(dir, file));
  const outcome = (bytes: Uint8Array, trusted: RootEnvelope = v1) => {
    const state = { root: trusted.signed, deviceId: 'dev-1', counter: 0, sequence: 1, vendorId: 'acme', classId: 'gw' };
    const results = [nodeEd25519, nobleEd25519].map((backend) => checkDirectiveMessage(state, bytes, now, backend));
    expect(results[0]).toEqual(results[1]);
    return results[0]!.ok ? 'plan' : results[0]!.reason;
  };

  beforeAll(async () => {
    temp = await tempDir();
    dir = join(temp.path, 'keys');
    await runJson(['keys', 'init', '--dir', dir]);
    v1 = await readRoot(dir, 1);
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(() => temp.remove());

  it('rotating the director key writes director-2.key and a root v2 that updateRoot accepts from v1', async () => {
    const result = await runJson<{ root: { version: number; complete: boolean }; added: { file: string }[] }>(['keys', 'rotate', '--dir', dir, '--role', 'director']);
    expect(result.root).toMatchObject({ version: 2, complete: true });
    expect(result.added.map((k) => k.file)).toEqual(['director-2.key']);
    const v2 = await readRoot(dir, 2);
    for (const backend of [nodeEd25519, nobleEd25519]) expect(updateRoot(v1.signed, [v2], now, backend)).toEqual(v2.signed);
    expect(v2.signed.roles.director.keyids).toEqual([(await key('director-2.key')).keyid]);
  });

  it('after the director rotation, directives signed by the old director key get directive_signature', async () => {
    const v2 = await readRoot(dir, 2);
    const [oldDirector, newDirector, release] = await Promise.all([key('director-1.key'), key('director-2.key'), key('release-1.key')]);
    expect(outcome(message(oldDirector, release, [v2]))).toBe('directive_signature');
    expect(outcome(message(oldDirector, release, []), v2)).toBe('directive_signature');
    expect(outcome(message(newDirector, release, [v2]))).toBe('plan');
  });

  it('rotating one root key (--replace) gives a v3 signed by both thresholds; the chain v1 -> v3 walks', async () => {
    const result = await runJson<{ root: { version: number; complete: boolean }; removed: string[] }>(['keys', 'rotate', '--dir', dir, '--role', 'root', '--replace', 'root-1.key']);
    expect(result.root).toMatchObject({ version: 3, complete: true });
    expect(result.removed).toEqual([(await key('root-1.key')).keyid]);
    const v3 = await readRoot(dir, 3);
    expect(v3.signed.roles.root.keyids).toEqual([(await key('root-2.key')).keyid, (await key('root-3.key')).keyid, (await key('root-4.key')).keyid]);
    expect(updateRoot(v1.signed, [await readRoot(dir, 2), v3], now, nodeEd25519).version).toBe(3);
  });

  it('revoking the only release key is refused: the threshold could not be met (exit 2)', async () => {
    const result = await runCli(['keys', 'revoke', '--dir', dir, '--role', 'release', '--keyid', 'release-1.key']);
    expect([result.status, result.code]).toEqual([2, 'threshold_unmeetable']);
  });

  it('revoking a release key (after adding a second) makes manifests it signs fail with release_signature', async () => {
    const added = await runJson<{ root: { version: number } }>(['keys', 'rotate', '--dir', dir, '--role', 'release', '--add']);
    expect(added.root.version).toBe(4);
    const revoked = await runJson<{ root: { version: number; complete: boolean } }>(['keys', 'revoke', '--dir', dir, '--role', 'release', '--keyid', (await key('release-1.key')).keyid.slice(0, 12)]);
    expect(revoked.root).toMatchObject({ version: 5, complete: true });
    const chain = await Promise.all([2, 3, 4, 5].map((v) => readRoot(dir, v)));
    const [director, oldRelease, newRelease] = await Promise.all([key('director-2.key'), key('release-1.key'), key('release-2.key')]);
    expect(outcome(message(director, oldRelease, chain))).toBe('release_signature');
    expect(outcome(message(director, newRelease, chain))).toBe('plan');
  });

  it('k-of-n: with one root key at hand rotate refuses; --partial writes v6; one more officer completes it with sign-root', async () => {
    // Officers 3 and 4 take their keys away; only root-2.key stays in the key set.
    const officers = join(temp.path, 'officers');
    await mkdir(officers, { mode: 0o700 });
    await rename(join(dir, 'root-3.key'), join(officers, 'root-3.key'));
    await rename(join(dir, 'root-4.key'), join(officers, 'root-4.key'));

    const refused = await runCli(['keys', 'rotate', '--dir', dir, '--role', 'director']);
    expect([refused.status, refused.code]).toEqual([1, 'threshold_not_met']);
    expect((await runJson<{ roots: unknown[] }>(['keys', 'show', '--dir', dir])).roots).toHaveLength(5);

    const partial = await runJson<{ root: { version: number; complete: boolean; signatures: number } }>(['keys', 'rotate', '--dir', dir, '--role', 'director', '--partial']);
    expect(partial.root).toMatchObject({ version: 6, complete: false, signatures: 1 });
    const v5 = await readRoot(dir, 5);
    const pending = await readRoot(dir, 6);
    expect(() => updateRoot(v5.signed, [pending], now, nodeEd25519)).toThrow(expect.objectContaining({ code: 'root_invalid' }));
    const blocked = await runCli(['keys', 'rotate', '--dir', dir, '--role', 'release', '--add']);
    expect(blocked.code).toBe('pending_root');

    const wrongKey = await runCli(['keys', 'sign-root', '--dir', dir, '--root', join(dir, 'root.6.json'), '--key', join(dir, 'root-1.key')]);
    expect(wrongKey.code).toBe('key_not_listed');

    const signed = await runJson<{ version: number; complete: boolean; signatures: number }>(['keys', 'sign-root', '--dir', dir, '--root', join(dir, 'root.6.json'), '--key', join(officers, 'root-3.key')]);
    expect(signed).toMatchObject({ version: 6, complete: true, signatures: 2 });
    expect(updateRoot(v5.signed, [await readRoot(dir, 6)], now, nodeEd25519).version).toBe(6);
    const show = await runJson<{ currentRoot: number; roots: { verified: boolean }[] }>(['keys', 'show', '--dir', dir]);
    expect(show.currentRoot).toBe(6);
    expect(show.roots.every((r) => r.verified)).toBe(true);
  });

  it('refuses an unknown key and a role that does not exist', async () => {
    const unknown = await runCli(['keys', 'revoke', '--dir', dir, '--role', 'director', '--keyid', 'ffffffffffff']);
    expect([unknown.status, unknown.code]).toEqual([2, 'unknown_key']);
    const badRole = await runCli(['keys', 'rotate', '--dir', dir, '--role', 'device']);
    expect(badRole.status).toBe(2);
    const noSet = await runCli(['keys', 'rotate', '--dir', join(temp.path, 'nothing'), '--role', 'director']);
    expect([noSet.status, noSet.code]).toEqual([1, 'no_key_set']);
  });
});
