// Device queries (orchestrator/registry/query): the RSQL / FIQL grammar with positioned errors,
// evaluation against device records (operator attributes over reported ones, numbers for order
// comparisons, wildcards), the narrowing index; and through the app on real Redis: GET
// /v1/devices?q= and a rollout target's query, a bad query answered 422 with its position.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeviceRecord } from '../../../state/device-record.js';
import { QueryError } from '../../../orchestrator/registry/query/errors.js';
import { QUERY_LIMITS } from '../../../orchestrator/registry/query/limits.js';
import { matchesQuery, queryIndex } from '../../../orchestrator/registry/query/match-query.js';
import { parseQuery } from '../../../orchestrator/registry/query/parse-query.js';
import { parseRolloutSpec } from '../../../orchestrator/rollouts/spec.js';
import { auth, randomDeviceKey, startTestApp, type TestApp } from '../helpers.js';

function record(id: string, extra: Partial<DeviceRecord> = {}): DeviceRecord {
  return { id, publicKey: 'k', vendorId: 'acme', classId: 'gw-2', groups: [], tags: [], attributes: {}, revoked: false, createdAt: '2026-01-01T00:00:00Z', ...extra };
}

function positionOf(text: string): number {
  try {
    parseQuery(text);
  } catch (error) {
    expect(error).toBeInstanceOf(QueryError);
    expect((error as QueryError).code).toBe('invalid_query');
    return (error as QueryError).position;
  }
  throw new Error(`${text} parsed`);
}

describe('parseQuery', () => {
  it('parses the documented example: ; binds tighter than , and parentheses group', () => {
    expect(parseQuery('hwrev==B;attributes.freeStorage=gt=100000;tag=in=(eu,beta)')).toEqual({
      kind: 'and',
      children: [
        { kind: 'compare', field: { kind: 'attribute', name: 'hwrev' }, operator: '==', values: ['B'], position: 0 },
        { kind: 'compare', field: { kind: 'attribute', name: 'freeStorage' }, operator: '=gt=', values: ['100000'], position: 9 },
        { kind: 'compare', field: { kind: 'field', name: 'tag' }, operator: '=in=', values: ['eu', 'beta'], position: 42 },
      ],
    });
    const tree = parseQuery('group==a,tag==b;hwrev==C');
    expect(tree.kind).toBe('or');
    expect(parseQuery(" ( group==a , group==b ) ; id=='x y\\'z' ")).toMatchObject({ kind: 'and', children: [{ kind: 'or' }, { values: ["x y'z"] }] });
  });

  it('refuses bad queries with the position of the problem', () => {
    expect(positionOf('')).toBe(0);
    expect(positionOf('hwrevv==B')).toBe(0);
    expect(positionOf('tag==a;colour==red')).toBe(7);
    expect(positionOf('tag=like=a')).toBe(3);
    expect(positionOf('tag==')).toBe(5);
    expect(positionOf('attributes.freeStorage=gt=lots')).toBe(26);
    expect(positionOf('tag=gt=1')).toBe(3);
    expect(positionOf('tag=in=a')).toBe(7);
    expect(positionOf('tag==(a,b)')).toBe(5);
    expect(positionOf('(tag==a')).toBe(7);
    expect(positionOf('tag==a)')).toBe(6);
    expect(positionOf("tag=='a")).toBe(5);
    expect(positionOf('presence==asleep')).toBe(10);
    expect(positionOf('attributes.a b==1')).toBe(13);
    expect(positionOf('x'.repeat(QUERY_LIMITS.maxChars + 1))).toBe(QUERY_LIMITS.maxChars);
    expect(positionOf(`${'('.repeat(QUERY_LIMITS.maxDepth + 1)}tag==a${')'.repeat(QUERY_LIMITS.maxDepth + 1)}`)).toBe(QUERY_LIMITS.maxDepth);
    expect(positionOf(Array.from({ length: QUERY_LIMITS.maxComparisons + 1 }, () => 'tag==a').join(';'))).toBe(QUERY_LIMITS.maxComparisons * 7);
  });
});

describe('matchesQuery', () => {
  const a = record('gw-a', { groups: ['eu'], tags: ['beta'], reportedAttributes: { hwrev: 'B', freeStorage: 250_000 }, installedReleaseId: 'fw-1', installedSequence: 3, presence: 'online' });
  const b = record('gw-b', { groups: ['us'], tags: ['eu'], attributes: { freeStorage: '50000' }, reportedAttributes: { hwrev: 'B', freeStorage: 900_000 } });
  const c = record('sensor-c', { tags: ['lab'], reportedAttributes: { hwrev: 'C', freeStorage: 'unknown' } });
  const matching = (q: string) => [a, b, c].filter((r) => matchesQuery(parseQuery(q), r)).map((r) => r.id);

  it('compares fields, attributes and lists', () => {
    expect(matching('hwrev==B;attributes.freeStorage=gt=100000;tag=in=(eu,beta)')).toEqual(['gw-a']);
    // The operator's value (50000) wins over what gw-b reported.
    expect(matching('freeStorage=lt=100000')).toEqual(['gw-b']);
    // A value that is not a number never matches an order comparison.
    expect(matching('freeStorage=ge=0')).toEqual(['gw-a', 'gw-b']);
    expect(matching('id==gw-*')).toEqual(['gw-a', 'gw-b']);
    expect(matching('tag!=eu')).toEqual(['gw-a', 'sensor-c']);
    expect(matching('group=out=(eu,us)')).toEqual(['sensor-c']);
    expect(matching('installed==fw-1;sequence=ge=3')).toEqual(['gw-a']);
    expect(matching('presence==unknown')).toEqual(['gw-b', 'sensor-c']);
    expect(matching('attributes.site==x')).toEqual([]);
    expect(matching('attributes.site!=x')).toEqual(['gw-a', 'gw-b', 'sensor-c']);
    expect(matching('hwrev==C,group==eu')).toEqual(['gw-a', 'sensor-c']);
    expect(matching('classId==gw-2;vendorId==acme;(hwrev==C,tag==eu)')).toEqual(['gw-b', 'sensor-c']);
  });

  it('names the index every match is in', () => {
    expect(queryIndex(parseQuery('hwrev==B;tag==beta'))).toEqual({ kind: 'tag', name: 'beta' });
    expect(queryIndex(parseQuery('group==eu'))).toEqual({ kind: 'group', name: 'eu' });
    expect(queryIndex(parseQuery('group==eu,tag==x'))).toBeUndefined();
    expect(queryIndex(parseQuery('group==e*'))).toBeUndefined();
  });
});

describe('through the API on real Redis', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp('query');
    const devices = [
      { id: 'q-1', groups: ['eu'], tags: ['beta'], attributes: { hwrev: 'B', freeStorage: '200000' } },
      { id: 'q-2', groups: ['eu'], tags: [], attributes: { hwrev: 'B', freeStorage: '1000' } },
      { id: 'q-3', groups: ['us'], tags: ['beta'], attributes: { hwrev: 'A', freeStorage: '900000' } },
    ];
    for (const { attributes, ...d } of devices) {
      expect((await t.app.inject({ method: 'POST', url: '/v1/devices', headers: auth(t.operator), payload: { ...d, publicKey: randomDeviceKey(), vendorId: 'acme', classId: 'gw-2' } })).statusCode).toBe(201);
      expect((await t.app.inject({ method: 'PATCH', url: `/v1/devices/${d.id}`, headers: auth(t.operator), payload: { attributes } })).statusCode).toBe(200);
    }
  });
  afterAll(async () => {
    await t?.close();
  });

  const list = (q: string, extra = '') => t.app.inject({ method: 'GET', url: `/v1/devices?q=${encodeURIComponent(q)}${extra}`, headers: auth(t.read) });

  it('GET /v1/devices?q= filters, pages and combines with the other filters', async () => {
    expect((await list('hwrev==B;freeStorage=gt=100000,tag==beta')).json().devices.map((d: { id: string }) => d.id)).toEqual(['q-1', 'q-3']);
    expect((await list('tag==beta', '&group=us')).json().devices.map((d: { id: string }) => d.id)).toEqual(['q-3']);
    const first = (await list('hwrev==B', '&limit=1')).json();
    expect(first.devices.map((d: { id: string }) => d.id)).toEqual(['q-1']);
    const second = (await list('hwrev==B', `&limit=1&cursor=${first.nextCursor}`)).json();
    expect(second.devices.map((d: { id: string }) => d.id)).toEqual(['q-2']);
  });

  it('answers a bad query 422 invalid_query with its position', async () => {
    const reply = await list('hwrev==B;colour==red');
    expect(reply.statusCode).toBe(422);
    expect(reply.json()).toMatchObject({ code: 'invalid_query', position: 9 });
  });

  it('resolves a rollout target query, and refuses a bad one before creating anything', async () => {
    expect(await t.app.services.registry.resolveTarget({ query: 'group==eu;freeStorage=ge=1000', vendorId: 'acme', classId: 'gw-2' })).toEqual(['q-1', 'q-2']);
    expect(() => parseRolloutSpec({ releaseId: 'fw-x', target: { query: 'tag=in=beta' } })).toThrow(expect.objectContaining({ code: 'invalid_query', position: 7 }));
    expect(() => parseRolloutSpec({ releaseId: 'fw-x', target: { query: 'tag==beta', all: true } })).toThrow(expect.objectContaining({ code: 'invalid_target' }));
  });
});
