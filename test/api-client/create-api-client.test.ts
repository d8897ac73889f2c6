// The shared API client against a real node:http server on a free port: bodies, the bearer
// token, and each failure kind with its code (tests assert codes, never messages).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiCallError, createApiClient, importDevices, listRoots } from '../../api-client/index.js';

let server: Server;
let baseUrl: string;
const seen: Array<{ method: string; url: string; authorization?: string; contentType?: string; contentLength?: string; body: string }> = [];

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const url = request.url ?? '';
  if (url === '/v1/early-refusal') {
    // Refuses before reading the body, then closes: the client must report this answer.
    response.writeHead(413, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify({ code: 'payload_too_large', message: 'too big' }));
    request.destroy();
    return;
  }
  void readAll(request).then((body) => {
    seen.push({ method: request.method ?? '', url, body, ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}), ...(request.headers['content-type'] ? { contentType: request.headers['content-type'] } : {}), ...(request.headers['content-length'] ? { contentLength: request.headers['content-length'] } : {}) });
    const json = (status: number, value: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (url === '/v1/echo') return json(200, { method: request.method, body });
    if (url === '/v1/devices/import?upsert=true') return json(200, { imported: body.trim().split('\n').length, failedCount: 0, failed: [] });
    if (url === '/v1/roots') return json(200, { roots: [] });
    if (url === '/v1/missing') return json(404, { code: 'rollout_not_found', message: 'no rollout nope' });
    if (url === '/v1/bare-500') return response.writeHead(500).end('oops');
    if (url === '/v1/big') return json(200, { data: 'x'.repeat(10_000) });
    if (url === '/v1/slow') return void setTimeout(() => json(200, {}), 2_000);
    return json(404, { code: 'not_found', message: 'no route' });
  });
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function failure(promise: Promise<unknown>): Promise<ApiCallError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ApiCallError);
  return error as ApiCallError;
}

describe('createApiClient', () => {
  it('sends JSON with the bearer token and parses the answer', async () => {
    const client = createApiClient({ baseUrl, token: 'tok-123' });
    const answer = await client.json<{ method: string; body: string }>('POST', '/v1/echo', { a: 1 });
    expect(answer).toEqual({ method: 'POST', body: '{"a":1}' });
    const last = seen.at(-1)!;
    expect(last.authorization).toBe('Bearer tok-123');
    expect(last.contentType).toBe('application/json');
    expect(last.contentLength).toBe('7');
  });

  it('streams a body with its length and reports progress; typed calls pick route and content type', async () => {
    const client = createApiClient({ baseUrl });
    const lines = '{"id":"a"}\n{"id":"b"}\n';
    const progress: number[] = [];
    const result = await importDevices(client, { stream: Readable.from([Buffer.from(lines)]), length: lines.length, onProgress: (n) => progress.push(n) }, { upsert: true });
    expect(result.imported).toBe(2);
    const last = seen.at(-1)!;
    expect(last).toMatchObject({ method: 'POST', contentType: 'application/x-ndjson', contentLength: String(lines.length), body: lines });
    expect(last.authorization).toBeUndefined();
    expect(progress.at(-1)).toBe(lines.length);
    expect(await listRoots(client)).toEqual([]);
  });

  it('a refusal carries the server code, status and message', async () => {
    const error = await failure(createApiClient({ baseUrl }).json('GET', '/v1/missing'));
    expect(error).toMatchObject({ kind: 'refused', code: 'rollout_not_found', status: 404, serverMessage: 'no rollout nope' });
  });

  it('a refusal without a JSON body is coded by its status', async () => {
    const error = await failure(createApiClient({ baseUrl }).json('GET', '/v1/bare-500'));
    expect(error).toMatchObject({ kind: 'refused', code: 'http_500', status: 500 });
    expect(error.serverMessage).toBeUndefined();
  });

  it('an early refusal of a streamed upload is the answer, not a network error', async () => {
    const body = Readable.from((function* () {
      for (let i = 0; i < 256; i++) yield Buffer.alloc(64 * 1024);
    })());
    const error = await failure(createApiClient({ baseUrl }).request('PUT', '/v1/early-refusal', { stream: body, contentType: 'application/octet-stream', length: 256 * 64 * 1024 }));
    expect(error).toMatchObject({ kind: 'refused', code: 'payload_too_large', status: 413 });
  });

  it('an unreachable server, a timeout and an oversized answer each have their code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await failure(createApiClient({ baseUrl: `http://127.0.0.1:${port}` }).json('GET', '/v1/echo'))).toMatchObject({ kind: 'unreachable', code: 'network' });
    expect(await failure(createApiClient({ baseUrl, timeoutMs: 200 }).json('GET', '/v1/slow'))).toMatchObject({ kind: 'unreachable', code: 'timeout' });
    expect(await failure(createApiClient({ baseUrl, maxResponseBytes: 1_000 }).json('GET', '/v1/big'))).toMatchObject({ kind: 'bad_response', code: 'response_too_large' });
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => createApiClient({ baseUrl: 'ftp://example' })).toThrow(ApiCallError);
    expect(() => createApiClient({ baseUrl: 'not a url' })).toThrow(expect.objectContaining({ code: 'bad_base_url' }));
  });
});
