// Changing registered devices on real Redis through the app: PATCH /v1/devices/:id moves the
// group and tag indexes with the lists and merges bounded attributes; an import with
// ?upsert=true updates devices it repeats instead of refusing them, never rotating a key.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REGISTRY_LIMITS } from '../../../orchestrator/registry/limits.js';
import { auth, randomDeviceKey, startTestApp, type TestApp } from '../helpers.js';

let t: TestApp;
const keys: Record<string, string> = {};

function device(id: string, extra: Record<string, unknown> = {}) {
  keys[id] ??= randomDeviceKey();
  return { id, publicKey: keys[id], vendorId: 'acme', classId: 'gw-2', groups: [], tags: [], ...extra };
}

const patch = (id: string, payload: unknown, token = t.operator) => t.app.inject({ method: 'PATCH', url: `/v1/devices/${id}`, headers: auth(token), payload: payload as object });
const show = async (id: string) => (await t.app.inject({ method: 'GET', url: `/v1/devices/${id}`, headers: auth(t.read) })).json();
const listIds = async (query: string) => ((await t.app.inject({ method: 'GET', url: `/v1/devices?${query}`, headers: auth(t.read) })).json().devices as Array<{ id: string }>).map((d) => d.id);
const importNdjson = (lines: object[], query = '') =>
  t.app.inject({ method: 'POST', url: `/v1/devices/import${query}`, headers: { ...auth(t.operator), 'content-type': 'application/x-ndjson' }, payload: `${lines.map((l) => JSON.stringify(l)).join('\n')}\n` });

beforeAll(async () => {
  t = await startTestApp('patch');
  for (const d of [device('p-1', { groups: ['eu'], tags: ['canary'] }), device('p-2', { groups: ['eu'] })]) {
    expect((await t.app.inject({ method: 'POST', url: '/v1/devices', headers: auth(t.operator), payload: d })).statusCode).toBe(201);
  }
});

afterAll(async () => {
  await t?.close();
});

describe('PATCH /v1/devices/:id', () => {
  it('replaces groups and tags, and the list filters and targeting follow', async () => {
    const reply = await patch('p-1', { groups: ['us', 'lab'], tags: [] });
    expect(reply.statusCode).toBe(200);
    expect(reply.json()).toMatchObject({ id: 'p-1', groups: ['us', 'lab'], tags: [], publicKey: keys['p-1'] });
    expect(await listIds('group=eu')).toEqual(['p-2']);
    expect(await listIds('group=lab')).toEqual(['p-1']);
    expect(await listIds('tag=canary')).toEqual([]);
    expect(await t.app.services.registry.resolveTarget({ groups: ['us'] })).toEqual(['p-1']);
  });

  it('merges attributes, null removes one, and other fields stay', async () => {
    expect((await patch('p-2', { attributes: { hw: 'rev-b', site: 'berlin' } })).json().attributes).toEqual({ hw: 'rev-b', site: 'berlin' });
    const merged = (await patch('p-2', { attributes: { site: null, storage: '12GB' } })).json();
    expect(merged.attributes).toEqual({ hw: 'rev-b', storage: '12GB' });
    expect(merged.groups).toEqual(['eu']);
    expect((await show('p-2')).attributes).toEqual({ hw: 'rev-b', storage: '12GB' });
  });

  it('refuses bad patches with codes and changes nothing', async () => {
    const before = await show('p-2');
    const over = Object.fromEntries(Array.from({ length: REGISTRY_LIMITS.maxAttributesPerDevice - 1 }, (_, i) => [`a${i}`, 'x']));
    for (const [body, status, code] of [
      [{}, 400, 'bad_request'],
      [{ publicKey: randomDeviceKey() }, 400, 'bad_request'],
      [{ groups: ['not ok'] }, 400, 'invalid_groups'],
      [{ attributes: { 'bad name': 'x' } }, 400, 'invalid_attributes'],
      [{ attributes: { hw: 'x'.repeat(REGISTRY_LIMITS.maxAttributeValueChars + 1) } }, 400, 'bad_request'],
      // 2 stored + 31 new: more than the limit in all.
      [{ attributes: over }, 422, 'too_many_attributes'],
    ] as const) {
      const reply = await patch('p-2', body);
      expect([reply.statusCode, reply.json().code], JSON.stringify(body).slice(0, 80)).toEqual([status, code]);
    }
    expect(await show('p-2')).toEqual(before);
    expect((await patch('nope', { tags: ['x'] })).json()).toMatchObject({ code: 'not_found' });
    expect((await patch('p-2', { tags: ['x'] }, t.read)).statusCode).toBe(403);
  });
});

describe('import ?upsert=true', () => {
  it('refuses repeated devices without it, updates them with it, and never takes another key', async () => {
    const first = [device('u-1', { groups: ['a'] }), device('u-2', { groups: ['a'] })];
    expect((await importNdjson(first)).json()).toEqual({ imported: 2, failedCount: 0, failed: [] });
    const again = [device('u-1', { groups: ['b'], tags: ['t'] }), device('u-2', { groups: ['b'] }), device('u-3')];
    const plain = (await importNdjson(again)).json();
    expect(plain).toMatchObject({ imported: 1, failedCount: 2 });
    expect(plain.failed.map((f: { code: string }) => f.code)).toEqual(['device_exists', 'device_exists']);

    const rotated = { ...device('u-2', { groups: ['c'] }), publicKey: randomDeviceKey() };
    const otherClass = device('u-3', { classId: 'gw-9' });
    const upserted = (await importNdjson([device('u-1', { groups: ['b'], tags: ['t'] }), rotated, otherClass, device('u-4')], '?upsert=true')).json();
    expect(upserted).toMatchObject({ imported: 1, updated: 1, failedCount: 2 });
    expect(upserted.failed.map((f: { line: number; code: string }) => [f.line, f.code])).toEqual([[2, 'public_key_differs'], [3, 'class_differs']]);
    expect(await show('u-1')).toMatchObject({ groups: ['b'], tags: ['t'] });
    expect(await show('u-2')).toMatchObject({ groups: ['a'], publicKey: keys['u-2'] });
    expect(await listIds('group=a')).toEqual(['u-2']);
    expect(await listIds('group=b')).toEqual(['u-1']);
  });
});
