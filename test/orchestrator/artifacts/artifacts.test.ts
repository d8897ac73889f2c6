// Artifact upload (streamed, hashed, size-limited, nothing left behind on failure or abort)
// and download (ETag, single Range, If-Range, If-None-Match), on a real filesystem and a real
// listening server for the interrupted upload.
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auth, startTestApp, type TestApp } from '../helpers.js';

const LIMIT = 256 * 1024;
let t: TestApp;
const content = randomBytes(100_000);
const sha = createHash('sha256').update(content).digest('hex');

/** Every file under the data dir (artifacts and temp files). */
async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function upload(payload: Buffer | Readable, headers: Record<string, string> = {}) {
  return t.app.inject({ method: 'PUT', url: '/v1/artifacts', headers: { ...auth(t.operator), 'content-type': 'application/octet-stream', ...headers }, payload });
}

beforeAll(async () => {
  t = await startTestApp('artifacts', { FLEET_MAX_ARTIFACT_BYTES: String(LIMIT) });
});

afterAll(async () => {
  await t?.close();
});

describe('upload', () => {
  it('stores the bytes under their SHA-256 and answers the device URI', async () => {
    const reply = await upload(content);
    expect(reply.statusCode).toBe(201);
    expect(reply.json()).toEqual({ sha256: sha, size: content.length, uri: `http://fleet.test:8080/v1/artifacts/${sha}` });
    expect(await t.app.services.artifacts.stat(sha)).toEqual({ sha256: sha, size: content.length });
    // The same bytes again: nothing new is stored.
    const again = await upload(content);
    expect(again.statusCode).toBe(200);
    expect(again.json().sha256).toBe(sha);
    expect((await filesIn(t.dataDir)).length).toBe(1);
  });

  it('refuses a declared oversize body before reading it', async () => {
    const reply = await upload(randomBytes(LIMIT + 1));
    expect(reply.statusCode).toBe(413);
    expect(reply.json().code).toBe('too_large');
    expect((await filesIn(t.dataDir)).length).toBe(1);
  });

  it('stops a streamed body at the limit and leaves no partial file', async () => {
    const chunks = Array.from({ length: 40 }, () => randomBytes(8 * 1024));
    const reply = await upload(Readable.from(chunks));
    expect(reply.statusCode).toBe(413);
    expect(reply.json().code).toBe('too_large');
    expect((await filesIn(t.dataDir)).length).toBe(1);
  });

  it('refuses another media type', async () => {
    const reply = await t.app.inject({ method: 'PUT', url: '/v1/artifacts', headers: { ...auth(t.operator), 'content-type': 'text/plain' }, payload: 'x' });
    expect(reply.statusCode).toBe(415);
  });

  it('leaves nothing behind when a real HTTP upload is aborted mid-stream', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const before = await filesIn(t.dataDir);
    const req = request({
      host: '127.0.0.1',
      port,
      method: 'PUT',
      path: '/v1/artifacts',
      headers: { ...auth(t.operator), 'content-type': 'application/octet-stream', 'content-length': String(200 * 1024) },
    });
    req.on('error', () => {});
    req.write(randomBytes(64 * 1024));
    // The upload is under way: its temp file exists.
    await expect.poll(async () => (await filesIn(t.dataDir)).length, { timeout: 10_000 }).toBe(before.length + 1);
    req.destroy();
    await expect.poll(async () => filesIn(t.dataDir), { timeout: 10_000 }).toEqual(before);
  });
});

describe('download', () => {
  const download = (headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET', id = sha) =>
    t.app.inject({ method, url: `/v1/artifacts/${id}`, headers });

  it('serves the whole artifact without a token, with a strong ETag', async () => {
    const reply = await download();
    expect(reply.statusCode).toBe(200);
    expect(reply.rawPayload.equals(content)).toBe(true);
    expect(reply.headers).toMatchObject({ etag: `"${sha}"`, 'accept-ranges': 'bytes', 'content-length': String(content.length), 'content-type': 'application/octet-stream' });
  });

  it.each([
    ['bytes=10-19', 10, 19],
    ['bytes=99990-', 99_990, 99_999],
    ['bytes=-5', 99_995, 99_999],
    ['bytes=0-999999', 0, 99_999],
    ['bytes=0-0', 0, 0],
  ])('answers Range %s with 206 and exactly those bytes', async (range, start, end) => {
    const reply = await download({ range });
    expect(reply.statusCode).toBe(206);
    expect(reply.headers['content-range']).toBe(`bytes ${start}-${end}/${content.length}`);
    expect(reply.headers['content-length']).toBe(String(end - start + 1));
    expect(reply.rawPayload.equals(content.subarray(start, end + 1))).toBe(true);
  });

  it('answers an unsatisfiable range with 416 and the size', async () => {
    const reply = await download({ range: 'bytes=100000-' });
    expect(reply.statusCode).toBe(416);
    expect(reply.headers['content-range']).toBe(`bytes */${content.length}`);
    expect(reply.json().code).toBe('range_not_satisfiable');
  });

  it('ignores several ranges and answers the whole artifact', async () => {
    const reply = await download({ range: 'bytes=0-1,5-6' });
    expect(reply.statusCode).toBe(200);
    expect(reply.rawPayload.length).toBe(content.length);
  });

  it('applies If-Range only when it names this artifact', async () => {
    expect((await download({ range: 'bytes=0-9', 'if-range': `"${sha}"` })).statusCode).toBe(206);
    const stale = await download({ range: 'bytes=0-9', 'if-range': '"something-else"' });
    expect(stale.statusCode).toBe(200);
    expect(stale.rawPayload.length).toBe(content.length);
  });

  it('answers If-None-Match with 304', async () => {
    const reply = await download({ 'if-none-match': `"${sha}"` });
    expect(reply.statusCode).toBe(304);
    expect(reply.rawPayload.length).toBe(0);
  });

  it('answers HEAD with the headers only', async () => {
    const reply = await download({}, 'HEAD');
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-length']).toBe(String(content.length));
    expect(reply.rawPayload.length).toBe(0);
  });

  it('answers 404 for an unknown artifact and 400 for a malformed id', async () => {
    expect((await download({}, 'GET', 'a'.repeat(64))).json().code).toBe('not_found');
    expect((await download({}, 'GET', '..%2F..%2Fetc%2Fpasswd')).statusCode).toBe(400);
  });
});
