// Owner mode key tooling through the real binary (docs/protocol.md#owner-mode): owner-init,
// owner-enrol, sign-release --as-owner, owner-transfer and owner-revoke; what they write is what
// a device then accepts or refuses with the owner-mode reason codes.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildDirectiveBody, checkDirectiveMessage, encodeDirectiveMessage, formatWireTime, manifestDigest, signDirective, toEpochSeconds,
  type OwnershipEnvelope, type OwnershipSigned, type ReleaseEnvelope,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { readPrivateKeyFile } from '../../../orchestrator/keys/key-file.js';
import { CLI_TEST_TIMEOUT_MS, readRoot, runCli, runJson, tempDir } from './run-cli.js';

describe('fleet-ota keys owner-*', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let temp: Awaited<ReturnType<typeof tempDir>>;
  let dir: string;
  const rootKeys = () => ['--root-key', join(dir, 'root-1.key'), '--root-key', join(dir, 'root-2.key')];
  const read = async <T>(path: string) => JSON.parse(await readFile(path, 'utf8')) as T;

  beforeAll(async () => {
    temp = await tempDir();
    dir = join(temp.path, 'keys');
    await runJson(['keys', 'init', '--dir', dir]);
  }, CLI_TEST_TIMEOUT_MS);
  afterAll(() => temp.remove());

  async function ownerRelease(ownerKey: string, sequence: number, device = 'dev-1'): Promise<ReleaseEnvelope> {
    const out = join(temp.path, `owner-${sequence}-${device}.json`);
    await runJson(['keys', 'sign-release', '--as-owner', '--key', ownerKey, '--device', device, '--sha256', 'cd'.repeat(32), '--size', '7',
      '--uri', 'https://owner.example.test/fw.bin', '--release-id', `own-${sequence}`, '--version', `2.${sequence}.0`, '--sequence', String(sequence),
      '--vendor', 'acme', '--class', 'gw-2', '--out', out, '--force']);
    return read<ReleaseEnvelope>(out);
  }

  async function deviceCheck(release: ReleaseEnvelope, ownership: OwnershipEnvelope | undefined, held: OwnershipSigned | undefined, counter: number) {
    const now = toEpochSeconds(new Date());
    const director = await readPrivateKeyFile(join(dir, 'director-1.key'), 'director');
    const directive = signDirective(buildDirectiveBody({
      deviceId: 'dev-1', rolloutId: 'r-own', wave: 0, action: 'install', manifestSha256: manifestDigest(release), counter, rootVersion: 1,
      issuedAt: formatWireTime(now), expiresAt: formatWireTime(now + 3600), policy: { mode: 'auto' },
    }), [director], nodeEd25519);
    const bytes = encodeDirectiveMessage({ directive, release, roots: [], ...(ownership ? { ownership } : {}) });
    const state = { root: (await readRoot(dir, 1)).signed, deviceId: 'dev-1', counter: counter - 1, sequence: 1, vendorId: 'acme', classId: 'gw-2', ...(held ? { ownership: held } : {}) };
    const check = checkDirectiveMessage(state, bytes, now, nodeEd25519);
    return check.ok ? 'plan' : check.reason;
  }

  it('enrols a device, signs as its owner, transfers and revokes; the device follows each record', async () => {
    const alice = join(temp.path, 'alice.key');
    const bob = join(temp.path, 'bob.key');
    const init = await runJson<{ keyid: string; publicFile: string }>(['keys', 'owner-init', '--out', alice]);
    expect(((await stat(alice)).mode & 0o777).toString(8)).toBe('600');
    expect(((await stat(init.publicFile)).mode & 0o777).toString(8)).toBe('644');
    expect(await readFile(init.publicFile, 'utf8')).not.toContain('secretKey');
    await runJson(['keys', 'owner-init', '--out', bob]);

    const v1 = join(temp.path, 'dev-1.ownership.1.json');
    const enrolled = await runJson<{ complete: boolean; record: OwnershipSigned }>(['keys', 'owner-enrol', '--dir', dir, ...rootKeys(), '--device', 'dev-1', '--owner-key', init.publicFile, '--out', v1]);
    expect(enrolled).toMatchObject({ complete: true, record: { deviceId: 'dev-1', version: 1 } });
    const record1 = await read<OwnershipEnvelope>(v1);

    const byAlice = await ownerRelease(alice, 2);
    expect(byAlice.signed.devices).toEqual(['dev-1']);
    expect(await deviceCheck(byAlice, record1, undefined, 1)).toBe('plan');
    // Bob's key, or Alice's manifest for another device, does not install on dev-1.
    expect(await deviceCheck(await ownerRelease(bob, 2), record1, undefined, 1)).toBe('owner_signature');
    expect(await deviceCheck(await ownerRelease(alice, 2, 'dev-2'), record1, undefined, 1)).toBe('device_not_listed');

    const v2 = join(temp.path, 'dev-1.ownership.2.json');
    await runJson(['keys', 'owner-transfer', '--dir', dir, ...rootKeys(), '--previous', v1, '--owner-key', join(temp.path, 'bob.pub.json'), '--out', v2]);
    const record2 = await read<OwnershipEnvelope>(v2);
    expect(record2.signed.version).toBe(2);
    expect(await deviceCheck(byAlice, record2, record1.signed, 2)).toBe('owner_signature');
    expect(await deviceCheck(await ownerRelease(bob, 3), record2, record1.signed, 2)).toBe('plan');
    // The transfer cannot be undone by replaying the enrolment.
    expect(await deviceCheck(byAlice, record1, record2.signed, 3)).toBe('ownership_replayed');

    const v3 = join(temp.path, 'dev-1.ownership.3.json');
    await runJson(['keys', 'owner-revoke', '--dir', dir, ...rootKeys(), '--previous', v2, '--out', v3]);
    const record3 = await read<OwnershipEnvelope>(v3);
    expect(record3.signed.owner).toBeUndefined();
    expect(await deviceCheck(await ownerRelease(bob, 3), record3, record2.signed, 3)).toBe('owner_revoked');
  });

  it('says when the root threshold is not met yet, and refuses an owner manifest naming no device', async () => {
    const alice = join(temp.path, 'carol.key');
    await runJson(['keys', 'owner-init', '--out', alice]);
    const partial = await runJson<{ complete: boolean; signatures: number; threshold: number }>(['keys', 'owner-enrol', '--dir', dir, '--root-key', join(dir, 'root-1.key'), '--device', 'dev-9', '--owner-key', join(temp.path, 'carol.pub.json'), '--out', join(temp.path, 'partial.json')]);
    expect(partial).toMatchObject({ complete: false, signatures: 1, threshold: 2 });
    const refused = await runCli(['keys', 'sign-release', '--as-owner', '--key', alice, '--sha256', 'cd'.repeat(32), '--size', '7', '--uri', 'https://o.example.test/x.bin',
      '--release-id', 'x', '--version', '1.0.0', '--sequence', '1', '--vendor', 'acme', '--class', 'gw-2', '--out', join(temp.path, 'x.json')]);
    expect({ status: refused.status, code: refused.code }).toEqual({ status: 2, code: 'usage' });
    // A release key is not an owner key.
    const wrongRole = await runCli(['keys', 'sign-release', '--as-owner', '--device', 'dev-1', '--key', join(dir, 'release-1.key'), '--sha256', 'cd'.repeat(32), '--size', '7', '--uri', 'https://o.example.test/x.bin',
      '--release-id', 'x', '--version', '1.0.0', '--sequence', '1', '--vendor', 'acme', '--class', 'gw-2', '--out', join(temp.path, 'y.json')]);
    expect(wrongRole.status).toBe(1);
    expect(wrongRole.code).toBe('key_file');
  });
});
