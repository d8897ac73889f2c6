// Bulk import of 100,000 devices through POST /v1/devices/import (streamed NDJSON body),
// real Redis. Prints the measured rate. The 100k run uses FLEET_IMPORT_KEY_CHECK=decode (the
// full curve check costs ~1 ms of CPU per key: 100 s here); the full check runs on a smaller
// batch below. FLEET_TEST_FULL_100K=1 runs the 100k import with the full check instead.
import { Readable } from 'node:stream';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexSize } from '../../../state/registry/index.js';
import { auth, startTestApp, type TestApp } from '../helpers.js';

const COUNT = 100_000;
const fullCheck100k = process.env.FLEET_TEST_FULL_100K === '1';

/** Distinct real Ed25519 public keys (node:crypto) or distinct random 32-byte strings. */
function deviceKeys(count: number, real: boolean): string[] {
  if (real) return Array.from({ length: count }, () => generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x!);
  const pool = randomBytes(32 * count);
  return Array.from({ length: count }, (_, i) => pool.subarray(i * 32, i * 32 + 32).toString('base64url'));
}

function ndjsonStream(keys: string[], chunkLines = 500): Readable {
  let i = 0;
  return new Readable({
    read() {
      if (i >= keys.length) {
        this.push(null);
        return;
      }
      let text = '';
      for (const end = Math.min(i + chunkLines, keys.length); i < end; i++) {
        text += `${JSON.stringify({ id: `dev-${String(i).padStart(6, '0')}`, publicKey: keys[i], vendorId: 'acme', classId: i % 2 ? 'gw-2' : 'gw-3', groups: [`wave-${i % 10}`], tags: i % 100 === 0 ? ['canary'] : [] })}\n`;
      }
      this.push(text);
    },
  });
}

describe('bulk import of 100,000 devices', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('registry-bulk', { FLEET_IMPORT_KEY_CHECK: fullCheck100k ? 'full' : 'decode' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it(`imports ${COUNT} devices from a streamed NDJSON body`, async () => {
    const keys = deviceKeys(COUNT, fullCheck100k);
    const started = performance.now();
    const reply = await t.app.inject({
      method: 'POST',
      url: '/v1/devices/import',
      headers: { ...auth(t.operator), 'content-type': 'application/x-ndjson' },
      payload: ndjsonStream(keys),
    });
    const seconds = (performance.now() - started) / 1000;
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toEqual({ imported: COUNT, failedCount: 0, failed: [] });
    console.log(`bulk import (${t.config.importKeyCheck} key check): ${COUNT} devices in ${seconds.toFixed(2)} s = ${Math.round(COUNT / seconds)} devices/s`);

    expect(await indexSize(t.redis, t.prefix, { kind: 'all' })).toBe(COUNT);
    expect(await indexSize(t.redis, t.prefix, { kind: 'group', name: 'wave-3' })).toBe(COUNT / 10);
    expect(await indexSize(t.redis, t.prefix, { kind: 'class', vendorId: 'acme', classId: 'gw-2' })).toBe(COUNT / 2);
    expect(await indexSize(t.redis, t.prefix, { kind: 'tag', name: 'canary' })).toBe(COUNT / 100);
    // A sample across the file, through the API.
    for (const i of [0, 1, 4_242, 55_555, COUNT - 1]) {
      const device = (await t.app.inject({ method: 'GET', url: `/v1/devices/dev-${String(i).padStart(6, '0')}`, headers: auth(t.read) })).json();
      expect(device).toMatchObject({ publicKey: keys[i], vendorId: 'acme', classId: i % 2 ? 'gw-2' : 'gw-3', groups: [`wave-${i % 10}`], revoked: false });
    }
  }, fullCheck100k ? 1_800_000 : 300_000);

  it('keeps the fleet summary fast at 100,000 devices', async () => {
    const started = performance.now();
    const summary = (await t.app.inject({ method: 'GET', url: '/v1/fleet/summary', headers: auth(t.read) })).json();
    const ms = performance.now() - started;
    console.log(`fleet summary over ${COUNT} devices: ${ms.toFixed(0)} ms (read from the fleet counters)`);
    expect(summary.total).toBe(COUNT);
    expect(summary.byClass).toEqual(expect.arrayContaining([{ vendorId: 'acme', classId: 'gw-2', count: COUNT / 2 }]));
    expect(summary.byPresence.unknown).toBe(COUNT);
    // The counters the import's scripts kept equal a recount of every record.
    await t.app.services.registry.recountSummary();
    const again = (await t.app.inject({ method: 'GET', url: '/v1/fleet/summary', headers: auth(t.read) })).json();
    expect({ ...again, computedAt: '' }).toEqual({ ...summary, computedAt: '' });
  });

  it('resolves a rollout target over 100,000 devices', async () => {
    const started = performance.now();
    const ids = await t.app.services.registry.resolveTarget({ groups: ['wave-1', 'wave-2'], classId: 'gw-2' });
    console.log(`resolveTarget (2 groups x class) over ${COUNT} devices: ${(performance.now() - started).toFixed(0)} ms`);
    // wave-1 ids are odd (gw-2); wave-2 ids are even (gw-3): only wave-1 remains.
    expect(ids.length).toBe(COUNT / 10);
    expect(ids[0]).toBe('dev-000001');
    expect([...ids].sort()).toEqual(ids);
  });

  it('pages through a group with a cursor', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { devices: Array<{ id: string }>; nextCursor: string | null } = (await t.app.inject({
        method: 'GET',
        url: `/v1/devices?tag=canary&limit=300${cursor ? `&cursor=${cursor}` : ''}`,
        headers: auth(t.read),
      })).json();
      seen.push(...page.devices.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.length).toBe(COUNT / 100);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen[0]).toBe('dev-000000');
  });
});
