// Fetcher over node:http/https: GET, resume with `Range: bytes=N-` after a dropped connection,
// SHA-256 over the stream, hard stop at `payload.size` (docs/protocol.md#artifacts), retries with
// backoff ending in `download_failed`. It does not decide whether the hash is right: the agent
// compares it with the manifest in its `verifying` step.
import { createHash, type Hash } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { backoffDelay, sleep, type BackoffPolicy } from './backoff.js';
import type { FetchRequest, FetchResult, Fetcher } from './fetcher.js';

export interface HttpFetcherOptions {
  /** Attempts without progress before giving up; an attempt that made progress does not count. */
  maxAttempts: number;
  /** Attempts in all, progress or not (bounds a server that trickles then drops forever). */
  maxTotalAttempts: number;
  backoff: BackoffPolicy;
  /** No byte for this long aborts the attempt. */
  idleTimeoutMs: number;
  /** Bandwidth cap (metered links; the simulator's slow-network profile). */
  bytesPerSecond?: number;
  /** Simulation only (flaky-network profile): chance per received chunk of cutting the connection. */
  dropChancePerChunk?: number;
  random: () => number;
  ca?: string | Buffer;
  /** Connection pools (the simulator shares them, bounding concurrent downloads). */
  httpAgent?: http.Agent;
  httpsAgent?: https.Agent;
}

export const DEFAULT_HTTP_FETCHER: Readonly<HttpFetcherOptions> = {
  maxAttempts: 5,
  maxTotalAttempts: 50,
  backoff: { initialMs: 1_000, maxMs: 30_000, factor: 2 },
  idleTimeoutMs: 30_000,
  random: Math.random,
};

/** One attempt's outcome: done, retry (resumable), or stop with a reason. */
type Attempt =
  | { kind: 'complete' }
  | { kind: 'retry'; detail: string }
  | { kind: 'fatal'; reason: 'download_failed' | 'size_exceeded'; detail: string };

interface Progress {
  received: number;
  hash: Hash;
}

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export class HttpFetcher implements Fetcher {
  private readonly options: HttpFetcherOptions;

  constructor(options: Partial<HttpFetcherOptions> = {}) {
    this.options = { ...DEFAULT_HTTP_FETCHER, ...options };
  }

  async fetch(request: FetchRequest): Promise<FetchResult> {
    let url: URL;
    try {
      url = new URL(request.uri);
    } catch {
      return { ok: false, reason: 'download_failed', detail: 'invalid uri' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return { ok: false, reason: 'download_failed', detail: 'unsupported scheme' };
    const progress: Progress = { received: 0, hash: createHash('sha256') };
    let fruitless = 0;
    let detail = 'no attempt';
    for (let total = 0; total < this.options.maxTotalAttempts; total++) {
      if (request.signal.aborted) return { ok: false, reason: 'download_failed', detail: 'aborted', aborted: true };
      const before = progress.received;
      const outcome = await this.attempt(url, request, progress);
      if (outcome.kind === 'complete') return { ok: true, sha256: progress.hash.digest('hex'), size: progress.received };
      if (outcome.kind === 'fatal') return { ok: false, reason: outcome.reason, detail: outcome.detail };
      detail = outcome.detail;
      if (request.signal.aborted) return { ok: false, reason: 'download_failed', detail: 'aborted', aborted: true };
      fruitless = progress.received > before ? 0 : fruitless + 1;
      if (fruitless >= this.options.maxAttempts) break;
      await sleep(backoffDelay(this.options.backoff, fruitless, this.options.random), request.signal);
    }
    return { ok: false, reason: 'download_failed', detail: `after retries: ${detail}` };
  }

  private attempt(url: URL, request: FetchRequest, progress: Progress): Promise<Attempt> {
    const headers: Record<string, string> = { accept: '*/*' };
    // Resume where the last attempt stopped (RFC 9110 §14.2).
    if (progress.received > 0) headers.range = `bytes=${progress.received}-`;
    const secure = url.protocol === 'https:';
    const get = secure ? https.get : http.get;
    const agent = secure ? this.options.httpsAgent : this.options.httpAgent;
    return new Promise<Attempt>((resolve) => {
      let settled = false;
      const finish = (outcome: Attempt): void => {
        if (settled) return;
        settled = true;
        request.signal.removeEventListener('abort', onAbort);
        req.destroy();
        resolve(outcome);
      };
      const onAbort = (): void => finish({ kind: 'retry', detail: 'aborted' });
      const req = get(url, { headers, ...(this.options.ca ? { ca: this.options.ca } : {}), ...(agent ? { agent } : {}) }, (res) => {
        this.receive(res, request, progress).then(finish, (error: Error) => finish({ kind: 'retry', detail: error.message }));
      });
      req.setTimeout(this.options.idleTimeoutMs, () => finish({ kind: 'retry', detail: 'idle timeout' }));
      req.on('error', (error) => finish({ kind: 'retry', detail: (error as NodeJS.ErrnoException).code ?? 'request error' }));
      request.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async receive(res: IncomingMessage, request: FetchRequest, progress: Progress): Promise<Attempt> {
    const status = res.statusCode ?? 0;
    if (status === 200 && progress.received > 0) {
      // The server ignored Range: start over from byte 0.
      progress.received = 0;
      progress.hash = createHash('sha256');
      await request.sink.reset();
    } else if (status === 206) {
      const range = CONTENT_RANGE.exec(res.headers['content-range'] ?? '');
      if (!range || Number(range[1]) !== progress.received) {
        // Not the bytes we asked for: drop what we have and start over (bounded by maxTotalAttempts).
        res.destroy();
        progress.received = 0;
        progress.hash = createHash('sha256');
        await request.sink.reset();
        return { kind: 'retry', detail: 'content-range does not match the request' };
      }
      if (range[3] !== '*' && Number(range[3]) > request.size) {
        res.destroy();
        return { kind: 'fatal', reason: 'size_exceeded', detail: `server declares ${range[3]} bytes` };
      }
    } else if (status !== 200) {
      res.destroy();
      // 408, 429 and 5xx are worth another try; other statuses will not change.
      if (status === 408 || status === 429 || status >= 500) return { kind: 'retry', detail: `HTTP ${status}` };
      return { kind: 'fatal', reason: 'download_failed', detail: `HTTP ${status}` };
    }
    const length = Number(res.headers['content-length']);
    if (Number.isFinite(length) && progress.received + length > request.size) {
      res.destroy();
      return { kind: 'fatal', reason: 'size_exceeded', detail: `server declares ${progress.received + length} bytes` };
    }
    const started = Date.now();
    const startedAt = progress.received;
    for await (const chunk of res as AsyncIterable<Buffer>) {
      // docs/protocol.md#artifacts: a device reads at most `payload.size` bytes.
      if (progress.received + chunk.length > request.size) {
        res.destroy();
        return { kind: 'fatal', reason: 'size_exceeded', detail: `more than ${request.size} bytes` };
      }
      try {
        await request.sink.write(chunk);
      } catch (error) {
        res.destroy();
        return { kind: 'fatal', reason: 'download_failed', detail: `staging write failed: ${(error as Error).message}` };
      }
      progress.hash.update(chunk);
      progress.received += chunk.length;
      request.onProgress?.(progress.received);
      if (request.signal.aborted) {
        res.destroy();
        return { kind: 'retry', detail: 'aborted' };
      }
      if (this.options.dropChancePerChunk && progress.received < request.size && this.options.random() < this.options.dropChancePerChunk) {
        res.destroy();
        return { kind: 'retry', detail: 'connection dropped (simulated)' };
      }
      if (this.options.bytesPerSecond) {
        const due = ((progress.received - startedAt) / this.options.bytesPerSecond) * 1000 - (Date.now() - started);
        if (due > 0) await sleep(due, request.signal);
      }
    }
    if (!res.complete) return { kind: 'retry', detail: 'connection closed early' };
    if (progress.received < request.size) return { kind: 'retry', detail: `short body: ${progress.received} of ${request.size} bytes` };
    return { kind: 'complete' };
  }
}
