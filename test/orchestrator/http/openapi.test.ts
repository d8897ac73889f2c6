// The OpenAPI document of the whole orchestrator (core routes, rollouts, events, /metrics, the
// dashboard) as the composition root (server.ts) composes it, engine and all: a real validator (@apidevtools/swagger-parser) accepts
// it; every operation has an operationId, a 2xx reply schema and the security it really
// enforces (checked by calling each one without a token, and operator ones with a read token);
// every registered route is in it; Swagger UI is served from local assets.
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { auth } from '../helpers.js';

interface Operation {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  responses?: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
type Document = { openapi: string; paths: Record<string, Record<string, Operation>> };

/** Public by design: devices download artifacts and read the root chain without a token. */
const PUBLIC = new Set([
  'GET /v1/healthz', 'GET /v1/readyz', 'GET /v1/openapi.json',
  'GET /v1/artifacts/{sha256}', 'HEAD /v1/artifacts/{sha256}',
  'GET /v1/roots', 'GET /v1/roots/current',
]);
const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'];

let stack: LocalStack;
/** The composed app and a read token, as the tests below use them. */
let t: { app: FastifyInstance; read: string };
let document: Document;

/** Each route's operations, as `METHOD /path/{param}`. */
function operations(doc: Document): Array<{ key: string; method: string; path: string; op: Operation }> {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).filter(([method]) => METHODS.includes(method)).map(([method, op]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, op })));
}

/** A concrete URL for a templated path: every parameter gets a value its pattern accepts. */
function concrete(path: string): string {
  return path.replace('{sha256}', 'ab'.repeat(32)).replace(/\{[A-Za-z]+\}/g, 'x1');
}

beforeAll(async () => {
  stack = await startLocalStack();
  t = { app: stack.orchestrator.app, read: stack.readToken };
  const response = await t.app.inject({ method: 'GET', url: '/v1/openapi.json' });
  expect(response.statusCode).toBe(200);
  document = response.json() as Document;
});

afterAll(async () => {
  await stack?.close();
});

describe('GET /v1/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document for a real validator', async () => {
    expect(document.openapi).toBe('3.1.0');
    // validate() dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(document) as never)).resolves.toBeTruthy();
  });

  it('documents every route, HEAD /artifacts included', () => {
    const documented = new Set(operations(document).map((o) => o.key));
    for (const expected of ['HEAD /v1/artifacts/{sha256}', 'GET /v1/whoami', 'GET /v1/events', 'POST /v1/rollouts', 'POST /v1/rollouts/{id}/approve', 'GET /metrics']) {
      expect(documented).toContain(expected);
    }
    const routes = t.app.printRoutes({ commonPrefix: false });
    // Every /v1 route fastify knows (docs UI aside) has an operation.
    const known = [...documented].map((k) => k.split(' ')[1]!.replace(/\{([A-Za-z0-9]+)\}/g, ':$1'));
    for (const line of routes.split('\n')) {
      const match = /(\/v1\/[^\s(]*) \(([A-Z, ]+)\)/.exec(line.replace(/^[\s│├└─]+/, ''));
      if (!match || match[1]!.startsWith('/v1/docs')) continue;
      expect(known, `route ${match[1]} is not in the document`).toContain(match[1]);
    }
  });

  it('gives every operation a unique operationId and a 2xx reply schema', () => {
    const ids = new Set<string>();
    for (const { key, method, op } of operations(document)) {
      expect(op.operationId, `${key} has no operationId`).toMatch(/^[A-Za-z][A-Za-z0-9-]*$/);
      expect(ids.has(op.operationId!), `${key}: operationId ${op.operationId} repeated`).toBe(false);
      ids.add(op.operationId!);
      const success = Object.entries(op.responses ?? {}).filter(([status]) => /^2\d\d$/.test(status));
      expect(success.length, `${key} has no 2xx reply`).toBeGreaterThan(0);
      // HEAD replies carry headers only.
      if (method === 'head') continue;
      for (const [status, reply] of success) {
        const schemas = Object.values(reply.content ?? {}).map((c) => c.schema);
        expect(schemas.length > 0 && schemas.every((s) => s !== undefined), `${key} ${status} has no schema`).toBe(true);
      }
    }
  });

  it('states the security each route enforces: a token is needed exactly where the document says', async () => {
    const ops = operations(document);
    expect(ops.length).toBeGreaterThanOrEqual(30);
    for (const { key, method, path, op } of ops) {
      const url = concrete(path);
      const anonymous = await t.app.inject({ method: method.toUpperCase() as 'GET', url });
      if (PUBLIC.has(key)) {
        expect(op.security ?? [], `${key} is public`).toEqual([]);
        expect(anonymous.statusCode, `${key} without a token`).not.toBe(401);
        continue;
      }
      expect(op.security, `${key} declares no security`).toEqual([{ bearerAuth: [] }]);
      expect(op.responses?.['401'], `${key} documents no 401`).toBeDefined();
      expect(anonymous.statusCode, `${key} without a token`).toBe(401);
      if (method !== 'get') {
        // Writes need the operator role: a read token is refused before anything runs.
        const reader = await t.app.inject({ method: method.toUpperCase() as 'POST', url, headers: auth(t.read) });
        expect(reader.statusCode, `${key} with a read token`).toBe(403);
      }
    }
  });
});

describe('Swagger UI', () => {
  it('is served under /v1/docs/ from local assets, pointing at the document', async () => {
    const page = await t.app.inject({ method: 'GET', url: '/v1/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    // No CDN: every script and stylesheet is a local path.
    const sources = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(source).not.toMatch(/^(https?:)?\/\//);
    const init = await t.app.inject({ method: 'GET', url: '/v1/docs/static/swagger-initializer.js' });
    expect(init.statusCode).toBe(200);
    expect(init.body).toContain('/v1/openapi.json');
    const bundle = await t.app.inject({ method: 'GET', url: '/v1/docs/static/swagger-ui-bundle.js' });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.body.length).toBeGreaterThan(100_000);
  });
});
