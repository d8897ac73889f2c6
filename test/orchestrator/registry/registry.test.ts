// Device registry on real Redis: register, show, list with filters and cursor, revoke (with the
// revocation channel), targeting for the rollout engine, the public key cache, and NDJSON/CSV
// import with per-line errors, including the full key check in worker threads.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toBase64url } from '../../../protocol/index.js';
import { createRedis } from '../../../state/redis.js';
import { registryKeys } from '../../../state/device-record.js';
import { recordPresence } from '../../../state/registry/index.js';
import { applyStatusReports } from '../../../state/rollouts/status-apply.js';
import { auth, randomDeviceKey, startTestApp, type TestApp } from '../helpers.js';

/** 32 zero bytes: decodes, but is a point of small order (refused by isAcceptablePublicKey). */
const SMALL_ORDER_KEY = 'A'.repeat(43);
/** A + T8: a valid point with a torsion component (test/protocol/crypto/backend-agreement.test.ts). */
const MIXED_ORDER_KEY = toBase64url(fromHex('1662faad7128c4d2defcf25c689b8674687172edb2a106b78ddd1f179a0217fa')!);

let t: TestApp;
const keys: Record<string, string> = {};

function device(id: string, extra: Record<string, unknown> = {}) {
  keys[id] ??= randomDeviceKey();
  return { id, publicKey: keys[id], vendorId: 'acme', classId: 'gw-2', groups: [], tags: [], ...extra };
}

async function post(url: string, payload: unknown, token = t.operator) {
  return t.app.inject({ method: 'POST', url, headers: auth(token), payload: payload as object });
}

async function get(url: string, token = t.read) {
  return t.app.inject({ method: 'GET', url, headers: auth(token) });
}

beforeAll(async () => {
  t = await startTestApp('registry');
  for (const [id, extra] of [
    ['alpha', { groups: ['eu', 'lab'], tags: ['canary'] }],
    ['bravo', { groups: ['eu'] }],
    ['charlie', { groups: ['us'], classId: 'gw-3' }],
    ['delta', { groups: ['us'], tags: ['canary'], vendorId: 'globex', classId: 'gw-2' }],
    ['echo', {}],
  ] as const) {
    const reply = await post('/v1/devices', device(id, extra));
    expect(reply.statusCode).toBe(201);
  }
});

afterAll(async () => {
  await t?.close();
});

describe('register and show', () => {
  it('stores the record and shows it', async () => {
    const reply = await get('/v1/devices/alpha');
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ id: 'alpha', publicKey: keys.alpha, vendorId: 'acme', classId: 'gw-2', groups: ['eu', 'lab'], tags: ['canary'], revoked: false });
    // The broker reads the same hash.
    expect(await t.redis.hget(registryKeys(t.prefix).device('alpha'), 'publicKey')).toBe(keys.alpha);
  });

  it('shows what status ingestion wrote: installed release, last status, last seen, presence', async () => {
    // Through the state operations ingestion uses (they keep the fleet counters too); rollout r1
    // is unknown, so only the device record changes.
    await applyStatusReports(t.redis, t.prefix, [{ deviceId: 'echo', rolloutId: 'r1', counter: 1, seq: 1, state: 'succeeded', progress: 0, reason: '', at: '2026-01-01T00:00:00Z', installedReleaseId: 'fw-2', installedSequence: 2, rootVersion: 1 }]);
    await recordPresence(t.redis, t.prefix, [{ deviceId: 'echo', presence: 'online', at: '2026-01-01T00:00:00Z' }]);
    expect((await get('/v1/devices/echo')).json()).toMatchObject({
      installedReleaseId: 'fw-2', installedSequence: 2, rootVersion: 1, lastSeenAt: '2026-01-01T00:00:00Z', presence: 'online',
      lastStatus: { rolloutId: 'r1', state: 'succeeded' },
    });
  });

  it('answers 404 for an unknown device', async () => {
    expect((await get('/v1/devices/nobody')).json().code).toBe('not_found');
  });

  it('refuses an existing id without touching the record', async () => {
    const reply = await post('/v1/devices', device('alpha', { publicKey: randomDeviceKey() }));
    expect(reply.statusCode).toBe(409);
    expect(reply.json().code).toBe('device_exists');
    expect((await get('/v1/devices/alpha')).json().publicKey).toBe(keys.alpha);
  });

  it.each([
    ['invalid_device_id', { id: 'bad id!' }],
    ['invalid_public_key', { publicKey: 'not-base64url-of-32-bytes' }],
    ['invalid_public_key', { publicKey: SMALL_ORDER_KEY }],
    ['invalid_public_key', { publicKey: MIXED_ORDER_KEY }],
    ['invalid_class_id', { classId: 'a/b' }],
    ['invalid_groups', { groups: ['ok', 'not ok'] }],
    ['bad_request', { extra: 1 }],
  ])('refuses %s', async (code, extra) => {
    const reply = await post('/v1/devices', device(`new-${Object.keys(extra)[0]}`, extra));
    expect(reply.statusCode).toBe(400);
    expect(reply.json().code).toBe(code);
  });
});

describe('list', () => {
  const ids = async (query: string) => (await get(`/v1/devices${query}`)).json().devices.map((d: { id: string }) => d.id);

  it('filters by group, tag, class, vendor and installed release', async () => {
    expect(await ids('?group=eu')).toEqual(['alpha', 'bravo']);
    expect(await ids('?tag=canary')).toEqual(['alpha', 'delta']);
    expect(await ids('?vendorId=acme&classId=gw-2')).toEqual(['alpha', 'bravo', 'echo']);
    expect(await ids('?classId=gw-2')).toEqual(['alpha', 'bravo', 'delta', 'echo']);
    expect(await ids('?group=us&tag=canary')).toEqual(['delta']);
    expect(await ids('?installedReleaseId=fw-2')).toEqual(['echo']);
  });

  it('searches by id prefix and filters by presence and last reported state (the console\'s filters)', async () => {
    expect(await ids('?idPrefix=ch')).toEqual(['charlie']);
    expect(await ids('?idPrefix=e&tag=canary')).toEqual([]);
    expect(await ids('?idPrefix=zz')).toEqual([]);
    expect((await get('/v1/devices?idPrefix=&limit=1')).statusCode).toBe(400);
    expect(await ids('?presence=online')).toEqual(['echo']);
    expect(await ids('?presence=unknown&group=eu')).toEqual(['alpha', 'bravo']);
    expect(await ids('?lastState=succeeded')).toEqual(['echo']);
    expect(await ids('?lastState=failed')).toEqual([]);
    expect((await get('/v1/devices?presence=away')).statusCode).toBe(400);
    expect((await get('/v1/devices?lastState=sleeping')).statusCode).toBe(400);
    const paged = (await get('/v1/devices?idPrefix=a&limit=1')).json();
    expect(paged.devices.map((d: { id: string }) => d.id)).toEqual(['alpha']);
    expect(await ids(`?idPrefix=a&cursor=${paged.nextCursor}`)).toEqual([]);
    expect(await ids('?idPrefix=d&cursor=alpha')).toEqual(['delta']);
  });

  it('pages in id order with a cursor', async () => {
    const first = (await get('/v1/devices?limit=2')).json();
    expect(first.devices.map((d: { id: string }) => d.id)).toEqual(['alpha', 'bravo']);
    const second = (await get(`/v1/devices?limit=2&cursor=${first.nextCursor}`)).json();
    expect(second.devices.map((d: { id: string }) => d.id)).toEqual(['charlie', 'delta']);
    const third = (await get(`/v1/devices?limit=2&cursor=${second.nextCursor}`)).json();
    expect(third.devices.map((d: { id: string }) => d.id)).toEqual(['echo']);
    expect(third.nextCursor).toBeNull();
  });

  it('refuses a bad filter or limit', async () => {
    expect((await get('/v1/devices?limit=0')).statusCode).toBe(400);
    expect((await get('/v1/devices?group=a%20b')).json().code).toBe('bad_request');
    expect((await get('/v1/devices?color=red')).statusCode).toBe(400);
  });
});

describe('revoke', () => {
  it('marks the device revoked and publishes its id on the revocation channel', async () => {
    const subscriber = createRedis();
    const channel = registryKeys(t.prefix).revokedChannel;
    const received: string[] = [];
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) received.push(message);
    });
    await subscriber.subscribe(channel);
    try {
      expect(await t.app.services.registry.getPublicKey('bravo')).toBeInstanceOf(Uint8Array);
      const reply = await post('/v1/devices/bravo/revoke', undefined);
      expect(reply.statusCode).toBe(200);
      expect(reply.json()).toMatchObject({ id: 'bravo', revoked: true });
      expect(await t.redis.hget(registryKeys(t.prefix).device('bravo'), 'revoked')).toBe('1');
      await expect.poll(() => received).toEqual(['bravo']);
      // The cached key is gone at once: status reports of a revoked device no longer verify.
      expect(await t.app.services.registry.getPublicKey('bravo')).toBeUndefined();
      expect((await get('/v1/devices?revoked=true')).json().devices.map((d: { id: string }) => d.id)).toEqual(['bravo']);
    } finally {
      await subscriber.quit();
    }
  });

  it('answers 404 for an unknown device and publishes nothing', async () => {
    const reply = await post('/v1/devices/nobody/revoke', undefined);
    expect(reply.statusCode).toBe(404);
    expect(reply.json().code).toBe('not_found');
  });
});

describe('resolveTarget (rollout engine)', () => {
  const resolve = (selector: Parameters<TestApp['app']['services']['registry']['resolveTarget']>[0]) => t.app.services.registry.resolveTarget(selector);

  it('narrows by every criterion, matches any entry of a list, and leaves revoked devices out', async () => {
    expect(await resolve({})).toEqual(['alpha', 'charlie', 'delta', 'echo']);
    expect(await resolve({ groups: ['eu', 'us'] })).toEqual(['alpha', 'charlie', 'delta']);
    expect(await resolve({ groups: ['eu', 'us'], tags: ['canary'] })).toEqual(['alpha', 'delta']);
    expect(await resolve({ vendorId: 'acme', classId: 'gw-2' })).toEqual(['alpha', 'echo']);
    expect(await resolve({ classId: 'gw-2' })).toEqual(['alpha', 'delta', 'echo']);
    expect(await resolve({ vendorId: 'globex' })).toEqual(['delta']);
    expect(await resolve({ deviceIds: ['echo', 'nobody', 'alpha', 'bravo'] })).toEqual(['alpha', 'echo']);
    expect(await resolve({ deviceIds: ['echo', 'alpha'], groups: ['eu'] })).toEqual(['alpha']);
    expect(await resolve({ installedReleaseId: 'fw-2' })).toEqual(['echo']);
    expect(await resolve({ groups: [] })).toEqual([]);
    expect(await resolve({ groups: ['eu'], includeRevoked: true })).toEqual(['alpha', 'bravo']);
  });
});

describe('fleet summary', () => {
  it('counts devices by class, installed release, presence and revocation', async () => {
    const summary = (await get('/v1/fleet/summary')).json();
    expect(summary).toMatchObject({ total: 5, revoked: 1, byPresence: { online: 1, offline: 0, unknown: 4 } });
    expect(summary.byClass).toEqual([
      { vendorId: 'acme', classId: 'gw-2', count: 3 },
      { vendorId: 'acme', classId: 'gw-3', count: 1 },
      { vendorId: 'globex', classId: 'gw-2', count: 1 },
    ]);
    expect(summary.byInstalledRelease).toEqual([
      { releaseId: null, version: null, sequence: null, count: 4 },
      { releaseId: 'fw-2', version: null, sequence: null, count: 1 },
    ]);
  });
});

describe('import', () => {
  const importBody = (body: string, contentType: string) =>
    t.app.inject({ method: 'POST', url: '/v1/devices/import', headers: { ...auth(t.operator), 'content-type': contentType }, payload: body });

  it('imports NDJSON and reports each bad line by number', async () => {
    const lines = [
      JSON.stringify(device('nd-1', { groups: ['eu'] })),
      '',
      '{not json',
      JSON.stringify(device('bad id')),
      JSON.stringify(device('nd-2', { publicKey: SMALL_ORDER_KEY })),
      JSON.stringify(device('alpha')),
      JSON.stringify(device('nd-3', { tags: ['canary'] })),
      JSON.stringify(device('nd-3')),
      `{"id":"nd-4","x":"${'y'.repeat(9000)}"}`,
      JSON.stringify(device('nd-5', { color: 'red' })),
      JSON.stringify(device('nd-6')),
    ];
    const reply = await importBody(`${lines.join('\n')}\n`, 'application/x-ndjson');
    expect(reply.statusCode).toBe(200);
    const result = reply.json();
    expect(result.imported).toBe(3);
    expect(result.failedCount).toBe(7);
    expect(result.failed.map((f: { line: number; code: string }) => [f.line, f.code])).toEqual([
      [3, 'bad_json'],
      [4, 'invalid_device_id'],
      [5, 'invalid_public_key'],
      [6, 'device_exists'],
      [8, 'device_exists'],
      [9, 'line_too_long'],
      [10, 'bad_schema'],
    ]);
    expect((await get('/v1/devices/nd-3')).json().tags).toEqual(['canary']);
    expect((await get('/v1/devices/nd-6')).statusCode).toBe(200);
  });

  it('imports CSV with ;-separated groups and tags, quoted fields, CRLF and columns in any order', async () => {
    const csv = [
      'classId,id,publicKey,vendorId,groups,tags',
      `gw-9,csv-1,${randomDeviceKey()},acme,eu;lab,canary`,
      `"gw-9","csv-2","${randomDeviceKey()}","acme","",""`,
      `gw-9,csv-3,${randomDeviceKey()},acme,eu`,
      `gw-9,csv-4,"unterminated,acme,,`,
    ].join('\r\n');
    const result = (await importBody(csv, 'text/csv; charset=utf-8')).json();
    expect(result.imported).toBe(2);
    expect(result.failed.map((f: { line: number; code: string }) => [f.line, f.code])).toEqual([[4, 'bad_csv'], [5, 'bad_csv']]);
    expect((await get('/v1/devices/csv-1')).json()).toMatchObject({ classId: 'gw-9', groups: ['eu', 'lab'], tags: ['canary'] });
    expect((await get('/v1/devices/csv-2')).json()).toMatchObject({ groups: [], tags: [] });
  });

  it('refuses a CSV without the required header and imports nothing', async () => {
    const reply = await importBody(`id,publicKey,vendor\nx,${randomDeviceKey()},acme\n`, 'text/csv');
    expect(reply.statusCode).toBe(400);
    expect(reply.json().code).toBe('bad_csv_header');
    expect((await get('/v1/devices/x')).statusCode).toBe(404);
  });

  it('refuses another media type', async () => {
    const reply = await importBody('{}', 'application/json');
    expect(reply.statusCode).toBe(415);
    const other = await importBody('x', 'text/plain');
    expect(other.statusCode).toBe(415);
    expect(other.json().code).toBe('unsupported_media_type');
  });

  it('runs the full key check in worker threads on a bulk import (default mode)', async () => {
    expect(t.config.importKeyCheck).toBe('full');
    const lines: string[] = [];
    for (let i = 0; i < 200; i++) lines.push(JSON.stringify(device(`full-${i}`)));
    lines[50] = JSON.stringify(device('full-50', { publicKey: MIXED_ORDER_KEY }));
    lines[150] = JSON.stringify(device('full-150', { publicKey: SMALL_ORDER_KEY }));
    const result = (await importBody(lines.join('\n'), 'application/x-ndjson')).json();
    expect(result.imported).toBe(198);
    expect(result.failed).toEqual([
      { line: 51, code: 'invalid_public_key', message: expect.any(String) },
      { line: 151, code: 'invalid_public_key', message: expect.any(String) },
    ]);
  });
});
