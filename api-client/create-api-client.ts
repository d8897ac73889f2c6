// The HTTP client for the orchestrator API, shared by the CLI, the demo, the simulator, the
// tests and the benchmarks: bearer token, JSON, byte and streamed bodies (with upload progress),
// a bounded response, an optional timeout, and every failure as one ApiCallError. It imports
// only node built-ins and protocol/ types: no server code (ESLint holds it).
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ApiCallError } from './api-call-error.js';

export const API_CLIENT_DEFAULTS = {
  /** Largest response body read (a page of 1,000 devices fits comfortably). */
  maxResponseBytes: 64 * 1024 * 1024,
} as const;

export interface ApiClientOptions {
  /** `http(s)://host:port[/base]`; a trailing slash is ignored. */
  baseUrl: string;
  /** Bearer token; none: only the public routes answer. */
  token?: string;
  /** Whole-call limit (headers and body); none: uploads of any size may take their time. */
  timeoutMs?: number;
  maxResponseBytes?: number;
}

export type RequestBody =
  | { json: unknown }
  | { bytes: string | Uint8Array; contentType: string }
  | { stream: Readable; contentType: string; length?: number; onProgress?: (sentBytes: number) => void };

/** JSON in, JSON out: the shape of most calls (and of the test stacks' `api`). */
export type JsonCall = <T = unknown>(method: string, path: string, json?: unknown) => Promise<T>;

export interface ApiClient {
  readonly baseUrl: string;
  /** `path` starts with `/v1/...`; resolves to the parsed JSON answer (undefined if empty). */
  request<T = unknown>(method: string, path: string, body?: RequestBody): Promise<T>;
  /** `request` with a JSON body (when given). */
  readonly json: JsonCall;
}

/** Throws `ApiCallError('bad_base_url')` unless `baseUrl` is an http(s) URL. */
export function createApiClient(options: ApiClientOptions): ApiClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  let base: URL;
  try {
    base = new URL(baseUrl);
  } catch {
    base = new URL('invalid:');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new ApiCallError('unreachable', 'bad_base_url', `${baseUrl} is not an http(s) URL`);
  const limits = { maxResponseBytes: options.maxResponseBytes ?? API_CLIENT_DEFAULTS.maxResponseBytes, ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) };
  const request = <T>(method: string, path: string, body?: RequestBody) => send<T>(base, options.token, limits, method, path, body);
  return {
    baseUrl,
    request,
    json: <T>(method: string, path: string, json?: unknown) => request<T>(method, path, json === undefined ? undefined : { json }),
  };
}

async function readBody(response: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      response.destroy();
      throw new ApiCallError('bad_response', 'response_too_large', `the server answered more than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return text.length > 0 ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

// node:http rather than fetch: a streamed upload with a known Content-Length and progress, and
// a server that refuses an upload early (answers, then closes) must surface its answer.
function send<T>(base: URL, token: string | undefined, limits: { maxResponseBytes: number; timeoutMs?: number }, method: string, path: string, body?: RequestBody): Promise<T> {
  const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: Buffer | undefined;
  if (body && 'json' in body) {
    payload = Buffer.from(JSON.stringify(body.json));
    headers['content-type'] = 'application/json';
  } else if (body && 'bytes' in body) {
    payload = Buffer.from(body.bytes);
    headers['content-type'] = body.contentType;
  } else if (body) {
    headers['content-type'] = body.contentType;
    if (body.length !== undefined) headers['content-length'] = String(body.length);
  }
  if (payload) headers['content-length'] = String(payload.length);
  const signal = limits.timeoutMs !== undefined ? AbortSignal.timeout(limits.timeoutMs) : undefined;
  const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const transportError = (error: NodeJS.ErrnoException): ApiCallError => signal?.aborted
    ? new ApiCallError('unreachable', 'timeout', `${method} ${path}: no complete answer from ${base.origin} within ${limits.timeoutMs} ms`)
    : new ApiCallError('unreachable', 'network', `cannot reach ${base.origin}: ${error.code ?? error.message}`);

  return new Promise<T>((resolve, reject) => {
    let answered = false;
    const req = requestFn(url, { method, headers, ...(signal ? { signal } : {}) }, (response) => {
      answered = true;
      readBody(response, limits.maxResponseBytes).then((text) => {
        const status = response.statusCode ?? 0;
        const parsed = parseJson(text);
        if (status >= 200 && status < 300) return resolve(parsed as T);
        const error = parsed as { code?: unknown; message?: unknown } | undefined;
        const code = typeof error?.code === 'string' ? error.code : `http_${status}`;
        const serverMessage = typeof error?.message === 'string' ? error.message : undefined;
        reject(new ApiCallError('refused', code, `${method} ${path}: ${status} ${code}${serverMessage ? `: ${serverMessage}` : ''}`, status, serverMessage));
      }, (error: unknown) => reject(error instanceof ApiCallError ? error : transportError(error as NodeJS.ErrnoException)));
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A server that refuses an upload early answers, then closes: its answer wins.
      if (answered) return;
      reject(transportError(error));
    });
    if (body && 'stream' in body) {
      let sent = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          sent += chunk.length;
          body.onProgress?.(sent);
          done(null, chunk);
        },
      });
      pipeline(body.stream, meter, req).catch(() => {
        // Reported through the request's 'error' or its response.
      });
    } else {
      req.end(payload);
    }
  });
}
