// `fleet-ota sim`: trust anchor from GET /v1/roots, registration with POST /v1/devices/import
// (a local HTTP server records both), devices connected to a real Aedes, clean stop on a
// signal; once through runSim(), once through the real binary with SIGTERM. The fake API
// upserts like the registry: the same key again is `updated`, another key `public_key_differs`.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePublicKey } from '../../protocol/index.js';
import { runSim, type SimCommandOptions } from '../../launcher/commands/sim.js';
import { waitFor } from './support/fakes.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { trustFixture } from './support/trust.js';

const t = trustFixture();
let broker: TestBroker;
let api: Server;
let apiUrl: string;
const imports: Array<{ headers: IncomingHttpHeaders; url: string; body: string }> = [];
const registered = new Map<string, string>();
let scratch: string;

beforeAll(async () => {
  broker = await startTestBroker();
  scratch = await mkdtemp(join(tmpdir(), 'fleet-ota-sim-'));
  api = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/roots') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ roots: [t.root2, t.root] }));
      if (req.method === 'POST' && req.url?.startsWith('/v1/devices/import')) {
        if (req.headers.authorization !== 'Bearer operator-token-0123456789') return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"code":"unauthorized"}');
        imports.push({ headers: req.headers, url: req.url, body });
        const result = { imported: 0, updated: 0, failedCount: 0, failed: [] as Array<{ line: number; code: string; message: string }> };
        body.split('\n').filter(Boolean).forEach((line, i) => {
          const { id, publicKey } = JSON.parse(line) as { id: string; publicKey: string };
          const known = registered.get(id);
          if (known === undefined) {
            registered.set(id, publicKey);
            result.imported++;
          } else if (known === publicKey) {
            result.updated++;
          } else {
            result.failedCount++;
            result.failed.push({ line: i + 1, code: 'public_key_differs', message: `device ${id} is registered with another public key` });
          }
        });
        return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(result));
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await broker.close();
  await rm(scratch, { recursive: true, force: true });
  api.closeAllConnections();
  await new Promise((resolve) => api.close(resolve));
});

const base = (over: Partial<SimCommandOptions>): SimCommandOptions => ({
  devices: 5, broker: '', api: undefined, profile: 'healthy', vendor: 'acme', class: 'gw-1', idPrefix: 'cli-', seed: 1,
  concurrency: 10, tokenLifetime: 3600, register: true, wait: false, ...over,
});

describe('fleet-ota sim', () => {
  it('provisions with the newest root, registers as NDJSON with the token, connects, stops on abort', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const controller = new AbortController();
    const before = imports.length;
    const running = runSim(base({ broker: broker.url, api: apiUrl, token: 'operator-token-0123456789', profile: 'healthy:60,install-failure:40' }), { signal: controller.signal, out, isTTY: false });
    await waitFor(() => /connected 5\/5/.test(text), 20_000, 'five connected');
    controller.abort();
    const counts = await running;
    expect(counts).toEqual({ idle: 5 });
    expect(text).toContain('trust anchor: root v2');
    expect(text).toMatch(/registered 5 new devices/);
    expect(text).toMatch(/disconnected\n$/);
    const [request] = imports.slice(before);
    expect(request!.headers['content-type']).toBe('application/x-ndjson');
    expect(request!.url).toBe('/v1/devices/import?upsert=true');
    const lines = request!.body.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(5);
    expect(lines[0]).toEqual({ id: 'cli-00000', publicKey: expect.any(String), vendorId: 'acme', classId: 'gw-1', groups: [], tags: [expect.stringMatching(/^sim\.(healthy|install-failure)$/)] });
    expect(lines.every((l) => decodePublicKey(l.publicKey))).toBe(true);
    expect(lines.filter((l) => l.tags[0] === 'sim.install-failure')).toHaveLength(2);
    expect(broker.connects.filter((c) => c.clientId.startsWith('cli-')).every((c) => c.username === c.clientId)).toBe(true);
  }, 60_000);

  it('refuses bad input with usage and refusal exit codes', async () => {
    const io = { signal: new AbortController().signal, out: new PassThrough(), isTTY: false };
    await expect(runSim(base({ broker: broker.url, api: apiUrl, token: 'x', profile: 'sick:100' }), io)).rejects.toMatchObject({ code: 'invalid_profile', exitCode: 2 });
    await expect(runSim(base({ broker: broker.url }), io)).rejects.toMatchObject({ code: 'usage', exitCode: 2 });
    await expect(runSim(base({ broker: broker.url, api: apiUrl, token: 'wrong-token-0123456789' }), io)).rejects.toMatchObject({ code: 'api_refused', exitCode: 3 });
    await expect(runSim(base({ broker: broker.url, api: 'http://127.0.0.1:9', register: false }), io)).rejects.toMatchObject({ code: 'api_unreachable', exitCode: 1 });
  });

  it('keeps its identities across restarts in its state dir, and says why when they conflict', async () => {
    const stateDir = join(scratch, 'restart');
    const options = base({ broker: broker.url, api: apiUrl, token: 'operator-token-0123456789', idPrefix: 'rs-', devices: 3, stateDir });
    for (const round of ['first', 'restart']) {
      const out = new PassThrough();
      let text = '';
      out.on('data', (chunk: Buffer) => (text += chunk.toString()));
      const controller = new AbortController();
      const running = runSim(options, { signal: controller.signal, out, isTTY: false });
      await waitFor(() => /connected 3\/3/.test(text), 20_000, `${round}: three connected: ${text}`);
      controller.abort();
      await running;
      expect(text).toContain(`identities in ${stateDir}`);
      expect(text).toMatch(round === 'first' ? /registered 3 new devices/ : /registered 0 new devices with .*, 3 already registered with these keys/);
    }
    // The old behaviour: new keys in memory for ids the registry knows. Refused with the reason.
    const io = { signal: new AbortController().signal, out: new PassThrough(), isTTY: false };
    await expect(runSim({ ...options, stateDir: false }, io)).rejects.toMatchObject({
      code: 'identity_conflict',
      exitCode: 3,
      message: expect.stringMatching(/3 devices are registered with other keys .*rs-00000.*--state-dir/),
    });
  }, 60_000);

  it('waits for the API to come up (or stops when asked)', async () => {
    const controller = new AbortController();
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const running = runSim(base({ broker: broker.url, api: 'http://127.0.0.1:9', register: false, wait: true }), { signal: controller.signal, out, isTTY: false });
    await waitFor(() => text.includes('waiting for'), 5_000, 'waiting line');
    controller.abort();
    expect(await running).toEqual({});
  });

  it('runs through the real binary, keeps identities in ./.fleet-ota/sim by default, and exits 0 on SIGTERM', async () => {
    const cwd = join(scratch, 'cwd');
    await mkdir(cwd);
    const bin = new URL('../../launcher/fleet-ota.js', import.meta.url).pathname;
    const child = spawn(process.execPath, [bin, 'sim', '--devices', '3', '--broker', broker.url, '--api', apiUrl, '--id-prefix', 'bin-', '--profile', 'mixed'], {
      cwd,
      env: { ...process.env, FLEET_OPERATOR_TOKEN: 'operator-token-0123456789' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(() => /connected 3\/3/.test(text), 30_000, `binary connected: ${text}`);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(text).toContain('registered 3 new devices');
    expect(text).toContain('identities in .fleet-ota/sim');
    expect(existsSync(join(cwd, '.fleet-ota', 'sim', 'bin-00000.json'))).toBe(true);
    expect(text).toContain('disconnected');
  }, 120_000);
});
