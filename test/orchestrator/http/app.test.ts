// The app as a whole: malformed and oversized bodies get 4xx JSON errors and change nothing;
// unknown routes and fields are refused; 5xx messages are hidden; extra route plugins (the
// rollout engine's) get requireRole, services and the error model under /v1; health, readiness
// and the OpenAPI document.
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpError } from '../../../orchestrator/http/errors.js';
import { RolloutError } from '../../../orchestrator/rollouts/errors.js';
import { ConfigError, FleetError } from '../../../runtime/errors.js';
import { auth, countPrefix, randomDeviceKey, startTestApp, type TestApp } from '../helpers.js';

const extra: FastifyPluginAsync = async (app) => {
  app.get('/extra/whoami', { preHandler: app.requireRole('read'), schema: { response: { 200: { type: 'object', properties: { role: { type: 'string' }, devices: { type: 'integer' } } } } } }, async (request) => ({
    role: request.auth?.role,
    devices: (await app.services.registry.list({}, {})).devices.length,
  }));
  app.post('/extra/write', { preHandler: app.requireRole('operator'), schema: { body: { type: 'object' } } }, async () => ({ ok: true }));
  app.get('/extra/boom', async () => {
    throw new Error('secret detail from deep inside');
  });
  app.get('/extra/unavailable', async () => {
    throw new HttpError('not_ready', 'the engine holds a secret too');
  });
  app.get('/extra/teapot', async () => {
    throw new RolloutError('invalid_state', 'rollout r1 is running');
  });
  app.get('/extra/uncoded', async () => {
    // A FleetError whose code has no HTTP status (not an API error): a hidden 500.
    throw new ConfigError(['FLEET_SECRET: the value is s3cret']);
  });
  app.get('/extra/unknown-code', async () => {
    throw new FleetError('made_up_code', 'a secret detail');
  });
};

const topLevel: FastifyPluginAsync = async (app) => {
  app.get('/metrics-like', { preHandler: app.requireRole('read') }, async () => ({ revoked: (await app.services.registry.summary()).revoked }));
};

let t: TestApp;
const MAX_BODY = 2048;
const MAX_IMPORT = 4096;

beforeAll(async () => {
  t = await startTestApp('http-app', { FLEET_MAX_BODY_BYTES: String(MAX_BODY), FLEET_MAX_IMPORT_BYTES: String(MAX_IMPORT) });
  // startTestApp built its own app; build one more with the extra routes on the same prefix.
  await t.app.close();
  const { buildApp } = await import('../../../orchestrator/http/app.js');
  t.app = await buildApp({ redis: t.redis, prefix: t.prefix, config: t.config, extraRoutes: [extra], topLevelRoutes: [topLevel] });
});

afterAll(async () => {
  await t?.close();
});

function device(id: string) {
  return { id, publicKey: randomDeviceKey(), vendorId: 'acme', classId: 'gw-2' };
}

describe('bad bodies change nothing', () => {
  it.each([
    ['malformed JSON', '{"id": "d1", ', 'application/json', 400, 'bad_json'],
    ['empty JSON body', '', 'application/json', 400, 'bad_json'],
    ['JSON that is not an object', '[1,2,3]', 'application/json', 400, 'bad_request'],
    ['an unknown field', JSON.stringify({ ...device('d1'), admin: true }), 'application/json', 400, 'bad_request'],
    ['another media type', JSON.stringify(device('d1')), 'text/plain', 415, 'unsupported_media_type'],
    ['an oversized body', JSON.stringify({ ...device('d1'), tags: Array.from({ length: 400 }, (_, i) => `tag-${i}`) }), 'application/json', 413, 'too_large'],
  ])('%s on POST /devices', async (_name, payload, contentType, status, code) => {
    const before = await countPrefix(t.redis, t.prefix);
    const reply = await t.app.inject({ method: 'POST', url: '/v1/devices', headers: { ...auth(t.operator), 'content-type': contentType }, payload });
    expect(reply.statusCode).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json().code).toBe(code);
    expect(await countPrefix(t.redis, t.prefix)).toBe(before);
  });

  it('an oversized release or root envelope', async () => {
    const before = await countPrefix(t.redis, t.prefix);
    const big = { signed: { _type: 'release', pad: 'x'.repeat(MAX_BODY) }, signatures: [] };
    for (const url of ['/v1/releases', '/v1/roots']) {
      const reply = await t.app.inject({ method: 'POST', url, headers: auth(t.operator), payload: big });
      expect(reply.statusCode).toBe(413);
      expect(reply.json().code).toBe('too_large');
    }
    expect(await countPrefix(t.redis, t.prefix)).toBe(before);
  });

  it('a declared oversized import is refused before a line is read', async () => {
    const before = await countPrefix(t.redis, t.prefix);
    const lines = Array.from({ length: 40 }, (_, i) => JSON.stringify(device(`imp-${i}`))).join('\n');
    expect(lines.length).toBeGreaterThan(MAX_IMPORT);
    const reply = await t.app.inject({ method: 'POST', url: '/v1/devices/import', headers: { ...auth(t.operator), 'content-type': 'application/x-ndjson' }, payload: lines });
    expect(reply.statusCode).toBe(413);
    expect(reply.json().code).toBe('too_large');
    expect(await countPrefix(t.redis, t.prefix)).toBe(before);
  });

  it('a streamed import past the limit is stopped with 413', async () => {
    const before = await countPrefix(t.redis, t.prefix);
    const lines = Array.from({ length: 40 }, (_, i) => `${JSON.stringify(device(`imp-${i}`))}\n`);
    const reply = await t.app.inject({ method: 'POST', url: '/v1/devices/import', headers: { ...auth(t.operator), 'content-type': 'application/x-ndjson' }, payload: Readable.from(lines) });
    expect(reply.statusCode).toBe(413);
    expect(reply.json().code).toBe('too_large');
    // The limit struck before the first batch was written.
    expect(await countPrefix(t.redis, t.prefix)).toBe(before);
  });
});

describe('errors', () => {
  it('answers unknown routes with a JSON 404', async () => {
    const reply = await t.app.inject({ method: 'GET', url: '/v1/nothing-here' });
    expect(reply.statusCode).toBe(404);
    expect(reply.json().code).toBe('not_found');
  });

  it('hides the message of every 5xx', async () => {
    const boom = await t.app.inject({ method: 'GET', url: '/v1/extra/boom' });
    expect(boom.statusCode).toBe(500);
    expect(boom.json()).toEqual({ code: 'internal', message: 'internal error' });
    const down = await t.app.inject({ method: 'GET', url: '/v1/extra/unavailable' });
    expect(down.statusCode).toBe(503);
    expect(down.json()).toEqual({ code: 'not_ready', message: 'internal error' });
    for (const url of ['/v1/extra/uncoded', '/v1/extra/unknown-code']) {
      const reply = await t.app.inject({ method: 'GET', url });
      expect([reply.statusCode, reply.json()]).toEqual([500, { code: 'internal', message: 'internal error' }]);
    }
  });

  it('answers a domain error with the status the one table gives its code, as { code, message }', async () => {
    const reply = await t.app.inject({ method: 'GET', url: '/v1/extra/teapot' });
    expect(reply.statusCode).toBe(409);
    expect(reply.json()).toEqual({ code: 'invalid_state', message: 'rollout r1 is running' });
  });
});

describe('extra route plugins', () => {
  it('are mounted under /v1 with requireRole and services', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/extra/whoami' })).statusCode).toBe(401);
    const reply = await t.app.inject({ method: 'GET', url: '/v1/extra/whoami', headers: auth(t.read) });
    expect(reply.json()).toEqual({ role: 'read', devices: 0 });
    expect((await t.app.inject({ method: 'POST', url: '/v1/extra/write', headers: auth(t.read), payload: {} })).json().code).toBe('forbidden');
    expect((await t.app.inject({ method: 'POST', url: '/v1/extra/write', headers: auth(t.operator), payload: {} })).json()).toEqual({ ok: true });
  });
});

describe('top-level route plugins', () => {
  it('are mounted at the root with requireRole and services (the dashboard, /metrics)', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/metrics-like' })).json().code).toBe('unauthorized');
    expect((await t.app.inject({ method: 'GET', url: '/metrics-like', headers: auth(t.read) })).json()).toEqual({ revoked: 0 });
  });
});

describe('health and documents', () => {
  it('answers liveness and readiness without a token', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/v1/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await t.app.inject({ method: 'GET', url: '/v1/readyz' })).json()).toEqual({ status: 'ready' });
  });

  it('serves an OpenAPI 3 document with schemas for every route', async () => {
    const document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(document.components.schemas)).toEqual(expect.arrayContaining(['ApiError', 'Device', 'Envelope']));
    const devices = document.paths['/v1/devices'];
    expect(devices.post.requestBody.content['application/json'].schema.required).toEqual(['id', 'publicKey', 'vendorId', 'classId']);
    expect(devices.get.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['group', 'tag', 'cursor', 'limit']));
    expect(Object.keys(document.paths['/v1/devices/import'].post.requestBody?.content ?? {})).toEqual(expect.arrayContaining(['application/x-ndjson', 'text/csv']));
  });
});
