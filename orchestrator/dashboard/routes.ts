// The console's routes (register at the root): GET / redirects to /dashboard/, and
// /dashboard/* serves a fixed set of static files (public/ plus uPlot from node_modules), read
// once at registration and answered from memory with an ETag. public/app.js is the committed
// esbuild bundle of src/ (build.ts), so serving needs no build step; no framework, and no data:
// the page calls the JSON API and the event stream with the user's token.
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/swagger';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StartupError } from '../../runtime/errors.js';

export interface DashboardOptions {
  /** Directory holding index.html, app.js and style.css; found beside this module by default. */
  publicDir?: string;
}

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The page's own files: a fixed list, so no request path ever reaches the filesystem. */
const PAGE_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

const VENDOR_FILES: Record<string, string> = {
  'uPlot.iife.min.js': 'text/javascript; charset=utf-8',
  'uPlot.min.css': 'text/css; charset=utf-8',
};

/**
 * Same-origin only. uPlot positions its elements through the CSSOM (element.style), which
 * style-src does not restrict; no inline script or style attribute is needed.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  // Keeps the ?token= of the event stream out of any Referer.
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

function findPublicDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  // From sources (tsx) public/ sits beside this file; from dist/ it stays in the source tree.
  for (const candidate of [join(here, 'public'), join(here, '..', '..', '..', 'orchestrator', 'dashboard', 'public')]) {
    if (existsSync(join(candidate, 'index.html'))) return candidate;
  }
  throw new StartupError('dashboard_assets', `dashboard files not found beside ${here}`);
}

function load(path: string, type: string): Asset {
  let body: Buffer;
  try {
    body = readFileSync(path);
  } catch (error) {
    throw new StartupError('dashboard_assets', `cannot read dashboard asset ${path}: ${(error as Error).message}`);
  }
  return { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function loadAssets(publicDir: string): { page: Map<string, Asset>; vendor: Map<string, Asset> } {
  const page = new Map(Object.entries(PAGE_FILES).map(([name, type]) => [name, load(join(publicDir, name), type)]));
  const require = createRequire(import.meta.url);
  const vendor = new Map(Object.entries(VENDOR_FILES).map(([name, type]) => [name, load(require.resolve(`uplot/dist/${name}`), type)]));
  return { page, vendor };
}

function serve(request: FastifyRequest, reply: FastifyReply, asset: Asset | undefined): FastifyReply {
  if (!asset) return reply.code(404).send({ code: 'not_found', message: 'no such dashboard file' });
  void reply.headers(SECURITY_HEADERS).header('etag', asset.etag).header('cache-control', 'no-cache');
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).send(asset.body);
}

export function dashboardRoutes(options: DashboardOptions = {}): FastifyPluginAsync {
  return async (app) => {
    const { page, vendor } = loadAssets(options.publicDir ?? findPublicDir());
    const hide = { schema: { hide: true } };
    app.get('/', hide, async (_request, reply) => reply.redirect('/dashboard/', 302));
    app.get('/dashboard', hide, async (_request, reply) => reply.redirect('/dashboard/', 301));
    app.get('/dashboard/', hide, async (request, reply) => serve(request, reply, page.get('index.html')));
    app.get<{ Params: { file: string } }>('/dashboard/:file', hide, async (request, reply) => serve(request, reply, page.get(request.params.file)));
    app.get<{ Params: { file: string } }>('/dashboard/vendor/:file', hide, async (request, reply) => serve(request, reply, vendor.get(request.params.file)));
  };
}
