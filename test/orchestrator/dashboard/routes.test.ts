// The dashboard's static routes: redirects, the fixed file set (nothing else reaches the
// filesystem), uPlot from node_modules, ETag revalidation and the security headers.
import Fastify, { type FastifyInstance } from 'fastify';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardRoutes } from '../../../orchestrator/dashboard/routes.js';

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify({ logger: false });
  await app.register(dashboardRoutes());
});

afterAll(async () => {
  await app.close();
});

describe('dashboard routes', () => {
  it('redirects / and /dashboard to /dashboard/', async () => {
    for (const url of ['/', '/dashboard']) {
      const response = await app.inject({ method: 'GET', url });
      expect([301, 302]).toContain(response.statusCode);
      expect(response.headers.location).toBe('/dashboard/');
    }
  });

  it('serves the page, its module and styles, and uPlot, with a strict CSP', async () => {
    const page = await app.inject({ method: 'GET', url: '/dashboard/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.body).toContain('type="module" src="app.js"');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).toContain("connect-src 'self'");
    expect(page.headers['x-content-type-options']).toBe('nosniff');
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    for (const [url, type] of [
      ['/dashboard/app.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/style.css', 'text/css; charset=utf-8'],
      ['/dashboard/vendor/uPlot.iife.min.js', 'text/javascript; charset=utf-8'],
      ['/dashboard/vendor/uPlot.min.css', 'text/css; charset=utf-8'],
    ] as const) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(200);
      expect(response.headers['content-type']).toBe(type);
      expect(response.body.length).toBeGreaterThan(100);
    }
    // The whole front end stays small: page + module + styles, uPlot aside (seven pages,
    // bundled unminified so devtools show readable code).
    const own = await Promise.all(['/dashboard/', '/dashboard/app.js', '/dashboard/style.css'].map((url) => app.inject({ method: 'GET', url })));
    expect(own.reduce((n, r) => n + r.rawPayload.length, 0)).toBeLessThan(100_000);
  });

  it('answers 304 to a matching If-None-Match', async () => {
    const first = await app.inject({ method: 'GET', url: '/dashboard/app.js' });
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    const again = await app.inject({ method: 'GET', url: '/dashboard/app.js', headers: { 'if-none-match': etag } });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
  });

  it('serves nothing outside its file list', async () => {
    for (const url of ['/dashboard/routes.ts', '/dashboard/..%2Froutes.ts', '/dashboard/%2e%2e/%2e%2e/package.json', '/dashboard/vendor/uPlot.cjs.js', '/dashboard/vendor/..%2F..%2Fpackage.json', '/dashboard/__proto__']) {
      const response = await app.inject({ method: 'GET', url });
      expect(response.statusCode, url).toBe(404);
    }
  });

  it('refuses to start without its files (dashboard_assets)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'fleet-dash-'));
    try {
      await writeFile(join(empty, 'index.html'), '<!doctype html>');
      const broken = Fastify({ logger: false });
      await expect(broken.register(dashboardRoutes({ publicDir: empty })).ready()).rejects.toMatchObject({ code: 'dashboard_assets' });
      await broken.close();
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
