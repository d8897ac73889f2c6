// HttpFetcher against a real node:http server: Range resume after a dropped connection, the
// size cap, retries, server statuses, abort.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpFetcher } from '../../../device-sim/agent/http-fetcher.js';
import type { ByteSink } from '../../../device-sim/agent/fetcher.js';
import { startPayloadServer, type PayloadServer } from '../support/payload-server.js';

const fast = { backoff: { initialMs: 5, maxMs: 20, factor: 2 } };
let server: PayloadServer;
beforeAll(async () => {
  server = await startPayloadServer();
});
afterAll(() => server.close());

function memorySink(): ByteSink & { bytes(): Buffer; resets: number } {
  let chunks: Buffer[] = [];
  const sink = {
    resets: 0,
    reset: () => {
      chunks = [];
      sink.resets++;
    },
    write: (chunk: Uint8Array) => void chunks.push(Buffer.from(chunk)),
    bytes: () => Buffer.concat(chunks),
  };
  return sink;
}

const digest = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('HttpFetcher', () => {
  it('downloads, hashes as it streams, reports progress', async () => {
    const bytes = new Uint8Array(randomBytes(300_000));
    server.files.set('/ok', { bytes });
    const sink = memorySink();
    const seen: number[] = [];
    const result = await new HttpFetcher(fast).fetch({ uri: server.url('/ok'), size: bytes.length, sink, signal: new AbortController().signal, onProgress: (n) => seen.push(n) });
    expect(result).toEqual({ ok: true, sha256: digest(bytes), size: bytes.length });
    expect(sink.bytes().equals(Buffer.from(bytes))).toBe(true);
    expect(seen.at(-1)).toBe(bytes.length);
  });

  it('resumes with Range after the connection drops', async () => {
    const bytes = new Uint8Array(randomBytes(200_000));
    server.files.set('/drop', { bytes, dropAfter: 70_000, dropTimes: 2 });
    const before = server.requests.length;
    const sink = memorySink();
    const result = await new HttpFetcher(fast).fetch({ uri: server.url('/drop'), size: bytes.length, sink, signal: new AbortController().signal });
    expect(result).toEqual({ ok: true, sha256: digest(bytes), size: bytes.length });
    const mine = server.requests.slice(before).filter((r) => r.path === '/drop');
    expect(mine.map((r) => r.headers.range)).toEqual([undefined, expect.stringMatching(/^bytes=\d+-$/), expect.stringMatching(/^bytes=\d+-$/)]);
    expect(Number(/\d+/.exec(mine[1]!.headers.range!)![0])).toBeGreaterThan(0);
    expect(sink.resets).toBe(0);
    expect(sink.bytes().equals(Buffer.from(bytes))).toBe(true);
  });

  it('starts over when the server ignores Range', async () => {
    const bytes = new Uint8Array(randomBytes(200_000));
    server.files.set('/norange', { bytes, dropAfter: 50_000, ignoreRange: true });
    const sink = memorySink();
    const result = await new HttpFetcher(fast).fetch({ uri: server.url('/norange'), size: bytes.length, sink, signal: new AbortController().signal });
    expect(result).toEqual({ ok: true, sha256: digest(bytes), size: bytes.length });
    expect(sink.resets).toBe(1);
    expect(sink.bytes().equals(Buffer.from(bytes))).toBe(true);
  });

  it('stops at payload.size: size_exceeded (declared length)', async () => {
    const bytes = new Uint8Array(randomBytes(10_000));
    server.files.set('/big', { bytes });
    const result = await new HttpFetcher(fast).fetch({ uri: server.url('/big'), size: 9_999, sink: memorySink(), signal: new AbortController().signal });
    expect(result).toMatchObject({ ok: false, reason: 'size_exceeded' });
  });

  it('stops at payload.size: size_exceeded (chunked, no length), never writing past it', async () => {
    const bytes = new Uint8Array(randomBytes(100_000));
    server.files.set('/big-chunked', { bytes, chunked: true });
    const sink = memorySink();
    const result = await new HttpFetcher(fast).fetch({ uri: server.url('/big-chunked'), size: 50_000, sink, signal: new AbortController().signal });
    expect(result).toMatchObject({ ok: false, reason: 'size_exceeded' });
    expect(sink.bytes().length).toBeLessThanOrEqual(50_000);
  });

  it('a short body is retried and ends as download_failed', async () => {
    const bytes = new Uint8Array(randomBytes(1000));
    server.files.set('/short', { bytes });
    const result = await new HttpFetcher({ ...fast, maxAttempts: 2 }).fetch({ uri: server.url('/short'), size: 2000, sink: memorySink(), signal: new AbortController().signal });
    expect(result).toMatchObject({ ok: false, reason: 'download_failed' });
  });

  it('404 fails at once; 503 is retried then fails', async () => {
    const before = server.requests.length;
    const missing = await new HttpFetcher(fast).fetch({ uri: server.url('/missing'), size: 10, sink: memorySink(), signal: new AbortController().signal });
    expect(missing).toMatchObject({ ok: false, reason: 'download_failed' });
    expect(server.requests.length - before).toBe(1);
    server.files.set('/busy', { bytes: new Uint8Array(1), status: 503 });
    const busy = await new HttpFetcher({ ...fast, maxAttempts: 3 }).fetch({ uri: server.url('/busy'), size: 1, sink: memorySink(), signal: new AbortController().signal });
    expect(busy).toMatchObject({ ok: false, reason: 'download_failed' });
    expect(server.requests.filter((r) => r.path === '/busy')).toHaveLength(3);
  });

  it('connection refused ends as download_failed; a bad uri too', async () => {
    const refused = await new HttpFetcher({ ...fast, maxAttempts: 2 }).fetch({ uri: 'http://127.0.0.1:9/x', size: 1, sink: memorySink(), signal: new AbortController().signal });
    expect(refused).toMatchObject({ ok: false, reason: 'download_failed' });
    const bad = await new HttpFetcher(fast).fetch({ uri: 'ftp://x/y', size: 1, sink: memorySink(), signal: new AbortController().signal });
    expect(bad).toMatchObject({ ok: false, reason: 'download_failed' });
  });

  it('honours abort', async () => {
    const bytes = new Uint8Array(randomBytes(500_000));
    server.files.set('/slow', { bytes });
    const controller = new AbortController();
    const result = await new HttpFetcher({ ...fast, bytesPerSecond: 100_000 }).fetch({
      uri: server.url('/slow'), size: bytes.length, sink: memorySink(), signal: controller.signal, onProgress: () => controller.abort(),
    });
    expect(result).toMatchObject({ ok: false, aborted: true });
  });

  it('simulated drops (flaky profile) still complete by resuming', async () => {
    const bytes = new Uint8Array(randomBytes(400_000));
    server.files.set('/flaky', { bytes });
    let n = 0;
    const random = () => (n++ % 3 === 0 ? 0 : 0.99);
    const result = await new HttpFetcher({ ...fast, dropChancePerChunk: 0.5, random }).fetch({ uri: server.url('/flaky'), size: bytes.length, sink: memorySink(), signal: new AbortController().signal });
    expect(result).toEqual({ ok: true, sha256: digest(bytes), size: bytes.length });
    expect(server.requests.filter((r) => r.path === '/flaky' && r.headers.range).length).toBeGreaterThan(0);
  });
});
