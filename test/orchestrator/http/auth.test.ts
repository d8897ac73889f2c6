// Bearer-token authorization over every route, table-driven from the OpenAPI document (so a new
// route cannot slip past): a missing or unknown token is 401, a read token on a write is 403,
// and exactly the routes devices need are public. Tokens are stored hashed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken, hashToken, listTokens, revokeToken, storeBootstrapTokens } from '../../../orchestrator/auth/tokens.js';
import { tokenKeys } from '../../../state/auth/token-records.js';
import { auth, startTestApp, type TestApp } from '../helpers.js';

let t: TestApp;

interface Operation {
  method: string;
  url: string;
  secured: boolean;
}

const PUBLIC = ['GET /v1/artifacts/{sha256}', 'GET /v1/healthz', 'GET /v1/openapi.json', 'GET /v1/readyz', 'GET /v1/roots', 'GET /v1/roots/current', 'HEAD /v1/artifacts/{sha256}'].sort();
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function operations(document: { paths: Record<string, Record<string, { security?: unknown[] }>> }): Operation[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => ({
      method: method.toUpperCase(),
      url: path.replace('{id}', 'some-id').replace('{sha256}', 'a'.repeat(64)),
      path,
      secured: Array.isArray(operation.security) && operation.security.length > 0,
    })),
  );
}

let ops: Array<Operation & { path: string }>;

beforeAll(async () => {
  t = await startTestApp('http-auth');
  const document = (await t.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
  ops = operations(document) as Array<Operation & { path: string }>;
});

afterAll(async () => {
  await t?.close();
});

const send = (op: Operation, headers: Record<string, string>) =>
  t.app.inject({ method: op.method as 'GET', url: op.url, headers: { 'content-type': 'application/json', ...headers }, ...(WRITES.has(op.method) ? { payload: '{}' } : {}) });

describe('route table', () => {
  it('has exactly the expected public routes and covers every core route', () => {
    expect(ops.filter((op) => !op.secured).map((op) => `${op.method} ${op.path}`).sort()).toEqual(PUBLIC);
    expect(ops.filter((op) => op.secured).map((op) => `${op.method} ${op.path}`).sort()).toEqual([
      'GET /v1/audit',
      'GET /v1/devices',
      'GET /v1/devices/{id}',
      'GET /v1/devices/{id}/history',
      'GET /v1/fleet/summary',
      'GET /v1/releases',
      'GET /v1/releases/{id}',
      'GET /v1/whoami',
      'PATCH /v1/devices/{id}',
      'POST /v1/devices',
      'POST /v1/devices/import',
      'POST /v1/devices/{id}/revoke',
      'POST /v1/releases',
      'POST /v1/roots',
      'PUT /v1/artifacts',
    ]);
  });
});

describe('every secured route', () => {
  it('refuses a missing token with 401 unauthorized', async () => {
    for (const op of ops.filter((o) => o.secured)) {
      const reply = await send(op, {});
      expect([op.method, op.url, reply.statusCode, reply.json().code]).toEqual([op.method, op.url, 401, 'unauthorized']);
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
    }
  });

  it('refuses a wrong token, a malformed header and another scheme with 401', async () => {
    for (const op of ops.filter((o) => o.secured)) {
      for (const header of ['Bearer fota_not-a-token', 'Bearer', `Basic ${Buffer.from('a:b').toString('base64')}`, `Bearer ${'x'.repeat(5000)}`]) {
        const reply = await send(op, { authorization: header });
        expect([op.method, op.url, header.slice(0, 12), reply.statusCode, reply.json().code]).toEqual([op.method, op.url, header.slice(0, 12), 401, 'unauthorized']);
      }
    }
  });

  it('refuses a read-only token on every write with 403 forbidden', async () => {
    const writes = ops.filter((o) => o.secured && WRITES.has(o.method));
    expect(writes.length).toBe(7);
    for (const op of writes) {
      const reply = await send(op, auth(t.read));
      expect([op.method, op.url, reply.statusCode, reply.json().code]).toEqual([op.method, op.url, 403, 'forbidden']);
    }
  });

  it('lets a read token and an operator token through on reads', async () => {
    for (const op of ops.filter((o) => o.secured && !WRITES.has(o.method))) {
      for (const token of [t.read, t.operator]) {
        const reply = await send(op, auth(token));
        expect([401, 403]).not.toContain(reply.statusCode);
      }
    }
  });
});

describe('tokens', () => {
  it('stores only the SHA-256 of a token, with its role', async () => {
    const { token, hash } = await createToken(t.redis, t.prefix, 'read', { label: 'dashboard' });
    expect(hash).toBe(hashToken(token));
    const stored = await t.redis.hgetall(tokenKeys(t.prefix).tokens);
    expect(JSON.stringify(stored)).not.toContain(token);
    expect(JSON.parse(stored[hash]!)).toMatchObject({ role: 'read', label: 'dashboard' });
    expect((await listTokens(t.redis, t.prefix)).find((entry) => entry.hash === hash)?.role).toBe('read');
  });

  it('stops accepting a revoked token', async () => {
    const { token, hash } = await createToken(t.redis, t.prefix, 'operator');
    expect((await t.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(token) })).statusCode).toBe(200);
    expect(await revokeToken(t.redis, t.prefix, hash)).toBe(true);
    expect((await t.app.inject({ method: 'GET', url: '/v1/devices', headers: auth(token) })).statusCode).toBe(401);
  });

  it('accepts the bootstrap tokens from the environment with their roles', async () => {
    await storeBootstrapTokens(t.redis, t.prefix, { operator: 'bootstrap-operator-0123456789', read: 'bootstrap-read-0123456789' });
    const write = { method: 'POST' as const, url: '/v1/devices/nobody/revoke' };
    expect((await t.app.inject({ ...write, headers: auth('bootstrap-operator-0123456789') })).statusCode).toBe(404);
    expect((await t.app.inject({ ...write, headers: auth('bootstrap-read-0123456789') })).statusCode).toBe(403);
  });
});
