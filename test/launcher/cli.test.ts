// The real binary (`node launcher/fleet-ota.js ...`) against a real orchestrator server
// on a loopback port: a new user creates tokens and keys, publishes root v1, imports 1,000
// devices, uploads an artifact and imports a release signed offline; --json output for
// scripts; exit codes 0 ok, 1 failure, 2 usage, 3 refused by the server.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrchestratorConfig } from '../../orchestrator/config.js';
import { silentLogger } from '../../runtime/logger.js';
import { startOrchestrator, type RunningOrchestrator } from '../../orchestrator/server.js';
import { deletePrefix, randomDeviceKey, testPrefix } from '../orchestrator/helpers.js';

const BIN = join(import.meta.dirname, '../../launcher/fleet-ota.js');
const DEVICES = 1000;

let server: RunningOrchestrator;
let dir: string;
let prefix: string;
const tokens = { operator: '', read: '' };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dir, REDIS_URL: 'redis://127.0.0.1:6379', FLEET_KEY_PREFIX: prefix, FLEET_API_URL: server.url, FLEET_API_TOKEN: tokens.operator, ...env },
      timeout: 60_000,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const json = (run: Run) => {
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as Record<string, unknown>;
};

beforeAll(async () => {
  prefix = testPrefix('cli');
  dir = await mkdtemp(join(tmpdir(), 'fleet-ota-cli-'));
  const config = loadOrchestratorConfig({ FLEET_KEY_PREFIX: prefix, FLEET_DATA_DIR: join(dir, 'data'), FLEET_HTTP_PORT: '0' });
  server = await startOrchestrator(config, {}, silentLogger());
}, 60_000);

afterAll(async () => {
  await server?.close();
  const { createRedis } = await import('../../state/redis.js');
  const redis = createRedis();
  await deletePrefix(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

describe('fleet-ota, from a new user to a signed release', () => {
  it('creates an operator and a read-only token straight in Redis, printed once', async () => {
    const operator = json(await cli(['tokens', 'create', '--role', 'operator', '--label', 'ci operator', '--json']));
    expect(operator.role).toBe('operator');
    tokens.operator = String(operator.token);
    const read = await cli(['tokens', 'create', '--role', 'read', '--label', 'dashboard']);
    expect(read.code).toBe(0);
    tokens.read = read.stdout.split('\n')[0]!;
    expect(tokens.read).toMatch(/^fota_/);
  }, 60_000);

  it('creates a key set offline and publishes root v1', async () => {
    expect((await cli(['keys', 'init', '--dir', join(dir, 'keys'), '--release-keys', '3', '--release-threshold', '2', '--json'])).code).toBe(0);
    const published = await cli(['root', 'publish', join(dir, 'keys', 'root.1.json')]);
    expect(published).toMatchObject({ code: 0, stdout: expect.stringContaining('published root v1') });
  }, 60_000);

  it(`imports ${DEVICES} devices from a file`, async () => {
    const lines = Array.from({ length: DEVICES }, (_, i) => JSON.stringify({ id: `dev-${String(i).padStart(4, '0')}`, publicKey: randomDeviceKey(), vendorId: 'acme', classId: 'gw-2', groups: [i < 100 ? 'canary' : 'main'], tags: [] }));
    await writeFile(join(dir, 'devices.ndjson'), `${lines.join('\n')}\n`);
    const run = await cli(['devices', 'import', join(dir, 'devices.ndjson'), '--json']);
    expect(run.code).toBe(0);
    expect(json(run)).toEqual({ imported: DEVICES, failedCount: 0, failed: [] });
    const listed = json(await cli(['devices', 'list', '--group', 'canary', '--all', '--limit', '30', '--json']));
    expect((listed.devices as unknown[]).length).toBe(100);
    const shown = await cli(['devices', 'show', 'dev-0042'], { FLEET_API_TOKEN: tokens.read });
    expect(shown.stdout).toMatch(/class\s+acme\/gw-2/);
  }, 120_000);

  it('exits 3 when a CSV import has refused lines, and reports them', async () => {
    await writeFile(join(dir, 'more.csv'), `id,publicKey,vendorId,classId,groups,tags\ncsv-1,${randomDeviceKey()},acme,gw-2,main;eu,\ndev-0001,${randomDeviceKey()},acme,gw-2,,\nbad id,${randomDeviceKey()},acme,gw-2,,\n`);
    const run = await cli(['devices', 'import', join(dir, 'more.csv')]);
    expect(run.code).toBe(3);
    expect(run.stdout).toContain('imported 1 device; 2 lines refused');
    expect(run.stdout).toContain('line 3: device_exists');
    expect(run.stdout).toContain('line 4: invalid_device_id');
  }, 60_000);

  let uri = '';

  it('uploads an artifact and prints sha256, size and uri', async () => {
    const bytes = randomBytes(300_000);
    await writeFile(join(dir, 'firmware.bin'), bytes);
    const stored = json(await cli(['releases', 'upload', join(dir, 'firmware.bin'), '--json']));
    expect(stored.size).toBe(bytes.length);
    expect(stored.uri).toBe(`${server.url}/v1/artifacts/${String(stored.sha256)}`);
    uri = String(stored.uri);
    const download = await fetch(uri, { headers: { range: 'bytes=0-99' } });
    expect(download.status).toBe(206);
    expect(Buffer.from(await download.arrayBuffer()).equals(bytes.subarray(0, 100))).toBe(true);
  }, 60_000);

  it('imports a release signed offline with 2 of the 3 release keys, and refuses it twice', async () => {
    const signed = await cli([
      'keys', 'sign-release', '--key', join(dir, 'keys', 'release-1.key'), '--key', join(dir, 'keys', 'release-2.key'),
      '--artifact', join(dir, 'firmware.bin'), '--uri', uri, '--release-id', 'fw-1.0.0', '--version', '1.0.0', '--sequence', '1',
      '--vendor', 'acme', '--class', 'gw-2', '--out', join(dir, 'fw-1.0.0.json'),
    ]);
    expect(signed.code).toBe(0);
    const imported = json(await cli(['releases', 'import', join(dir, 'fw-1.0.0.json'), '--json']));
    expect(imported).toMatchObject({ releaseId: 'fw-1.0.0', sequence: 1, digest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const again = await cli(['releases', 'import', join(dir, 'fw-1.0.0.json')]);
    expect(again.code).toBe(3);
    expect(again.stderr).toContain('(duplicate_release)');
    const listed = await cli(['releases', 'list'], { FLEET_API_TOKEN: tokens.read });
    expect(listed.stdout).toMatch(/fw-1\.0\.0\s+1\.0\.0\s+acme\/gw-2\s+1/);
  }, 120_000);
});

describe('device onboarding and changes', () => {
  it('keygen makes a bundle (0600 key, registration line, root, provision file) that imports as it stands', async () => {
    const bundle = join(dir, 'bundle-7');
    const made = await cli(['devices', 'keygen', '--id', 'port-7', '--vendor', 'acme', '--class', 'gw-2', '--group', 'lab', '--root', join(dir, 'keys', 'root.1.json'), '--broker', 'mqtts://broker.example:8883', '--out', bundle, '--json']);
    expect(made.code, made.stderr).toBe(0);
    const summary = JSON.parse(made.stdout) as { publicKey: string; deviceId: string };
    expect(summary).toMatchObject({ deviceId: 'port-7', brokerUrl: 'mqtts://broker.example:8883', rootFile: 'root.json', keyFile: 'device.key' });
    expect(made.stdout).not.toContain('secretKey');
    expect((await stat(join(bundle, 'device.key'))).mode & 0o777).toBe(0o600);
    const key = JSON.parse(await readFile(join(bundle, 'device.key'), 'utf8')) as { role: string; publicKey: string; secretKey: string };
    expect(key).toMatchObject({ role: 'device', publicKey: summary.publicKey });
    expect(JSON.parse(await readFile(join(bundle, 'root.json'), 'utf8'))).toEqual(JSON.parse(await readFile(join(dir, 'keys', 'root.1.json'), 'utf8')));
    const again = await cli(['devices', 'keygen', '--id', 'port-7', '--vendor', 'acme', '--class', 'gw-2', '--out', bundle]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('(exists)');

    const imported = await cli(['devices', 'import', join(bundle, 'device.json'), '--json']);
    expect(imported.code, imported.stderr).toBe(0);
    // Re-running an import: refused without --upsert (3), updated with it (0).
    expect((await cli(['devices', 'import', join(bundle, 'device.json')])).code).toBe(3);
    const upserted = await cli(['devices', 'import', join(bundle, 'device.json'), '--upsert', '--json']);
    expect(upserted.code, upserted.stderr).toBe(0);
    expect(JSON.parse(upserted.stdout)).toEqual({ imported: 0, updated: 1, failedCount: 0, failed: [] });

    const updated = await cli(['devices', 'update', 'port-7', '--tag', 'eu', '--attr', 'hw=rev-b', '--json']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout)).toMatchObject({ id: 'port-7', publicKey: summary.publicKey, groups: ['lab'], tags: ['eu'], attributes: { hw: 'rev-b' } });
  }, 300_000);

  it('refuses to send a private key file, before anything reaches the server', async () => {
    const run = await cli(['root', 'publish', join(dir, 'keys', 'root-1.key'), '--api', 'http://127.0.0.1:1', '--json']);
    // Exit 2 with the key refused, not 1 for the unreachable API: nothing was sent.
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stderr)).toMatchObject({ code: 'private_key_file' });
    expect(run.stderr).not.toContain(JSON.parse(await readFile(join(dir, 'keys', 'root-1.key'), 'utf8')).secretKey);
  }, 120_000);
});

describe('starting services', () => {
  it('serve names every missing or bad setting in one run (2), before starting anything', async () => {
    const run = await cli(['serve'], { FLEET_HTTP_PORT: 'eighty', FLEET_BROKER_USERNAME: 'orchestrator' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('(invalid_configuration)');
    for (const name of ['FLEET_HTTP_PORT', 'FLEET_BROKER_URL', 'FLEET_DIRECTOR_KEY', 'FLEET_BROKER_SECRET']) expect(run.stderr).toContain(name);
  }, 180_000);

  it('broker account prints a whole accounts file, or adds to one with --append', async () => {
    const printed = await cli(['broker', 'account', '--username', 'orchestrator', '--role', 'orchestrator', '--secret-file', join(dir, 'orch.secret')]);
    expect(printed.code, printed.stderr).toBe(0);
    expect(JSON.parse(printed.stdout)).toEqual([{ username: 'orchestrator', secretSha256: expect.stringMatching(/^[0-9a-f]{64}$/), role: 'orchestrator' }]);
    const accounts = join(dir, 'accounts.json');
    await writeFile(accounts, printed.stdout);
    expect((await cli(['broker', 'account', '--username', 'dash', '--role', 'dashboard', '--secret-file', join(dir, 'dash.secret'), '--append', accounts])).code).toBe(0);
    expect((JSON.parse(await readFile(accounts, 'utf8')) as Array<{ username: string }>).map((a) => a.username)).toEqual(['orchestrator', 'dash']);
    const twice = await cli(['broker', 'account', '--username', 'dash', '--role', 'dashboard', '--secret-file', join(dir, 'dash2.secret'), '--append', accounts]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('(account_exists)');
  }, 180_000);
});

describe('audit and named tokens', { timeout: 300_000 }, () => {
  interface Entry { action: string; target: string; reason?: string; actor: { via: string; label?: string; tokenId?: string } }

  it('audit lists the operator actions so far with their actors, newest first, filtered by action', async () => {
    const { entries } = json(await cli(['audit', '--limit', '200', '--json'], { FLEET_API_TOKEN: tokens.read })) as unknown as { entries: Entry[] };
    const seen = entries.map((e) => `${e.action} ${e.target}`);
    expect(seen).toEqual(expect.arrayContaining(['root.publish root v1', 'device.import devices', 'release.import fw-1.0.0', expect.stringMatching(/^token\.create [0-9a-f]{12}$/)]));
    expect(seen.indexOf('release.import fw-1.0.0')).toBeLessThan(seen.indexOf('root.publish root v1'));
    expect(entries.find((e) => e.action === 'release.import')!.actor).toMatchObject({ via: 'api', label: 'ci operator', tokenId: expect.stringMatching(/^[0-9a-f]{12}$/) });
    expect(entries.find((e) => e.action === 'token.create')!.actor.via).toBe('cli');
    const human = await cli(['audit', '--action', 'release.import']);
    expect(human.stdout).toMatch(/release\.import\s+fw-1\.0\.0/);
    expect(human.stdout).toContain('ci operator');
    expect(human.stdout).not.toContain('root.publish');
  });

  it('tokens: create with a label and an expiry, list without secrets, revoke by id (kept, refused, audited)', async () => {
    const created = json(await cli(['tokens', 'create', '--role', 'read', '--label', 'temp reader', '--expires', '1h', '--json']));
    expect(created).toMatchObject({ role: 'read', label: 'temp reader', id: expect.stringMatching(/^[0-9a-f]{12}$/), expiresAt: expect.any(String) });
    const id = String(created.id);
    expect((await cli(['releases', 'list'], { FLEET_API_TOKEN: String(created.token) })).code).toBe(0);

    const listed = await cli(['tokens', 'list', '--json']);
    expect(listed.stdout).not.toContain('fota_');
    expect((json(listed).tokens as Array<{ id: string; status: string }>).find((t) => t.id === id)).toMatchObject({ status: 'active' });

    expect((await cli(['tokens', 'revoke', id, '--reason', 'contractor left'])).stdout).toContain(`revoked ${id} (read, temp reader)`);
    expect((await cli(['releases', 'list'], { FLEET_API_TOKEN: String(created.token) })).code).toBe(3);
    expect(await cli(['tokens', 'list'])).toMatchObject({ stdout: expect.stringMatching(new RegExp(`${id}\\s+read\\s+revoked\\s+temp reader`)) });
    const { entries } = json(await cli(['audit', '--action', 'token.revoke', '--json'])) as unknown as { entries: Entry[] };
    expect(entries[0]).toMatchObject({ target: id, reason: 'contractor left', actor: { via: 'cli' } });

    const bad = await cli(['tokens', 'create', '--role', 'read', '--expires', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('(bad_expiry)');
  });
});

describe('exit codes', { timeout: 300_000 }, () => {
  it('3 when the server refuses: a read-only token on a write', async () => {
    const run = await cli(['devices', 'revoke', 'dev-0001'], { FLEET_API_TOKEN: tokens.read });
    expect(run.code).toBe(3);
    expect(run.stderr).toContain('(forbidden)');
  }, 180_000);

  it('1 when the server cannot be reached', async () => {
    const run = await cli(['releases', 'list', '--api', 'http://127.0.0.1:1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('(network)');
  }, 180_000);

  it('2 for usage errors: a missing argument, an unreadable or malformed file', async () => {
    expect((await cli(['devices', 'import'])).code).toBe(2);
    expect((await cli(['releases', 'import', join(dir, 'nope.json')])).code).toBe(2);
    await writeFile(join(dir, 'broken.json'), '{"signed":');
    const broken = await cli(['root', 'publish', join(dir, 'broken.json')]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('(bad_json)');
  }, 180_000);
});
