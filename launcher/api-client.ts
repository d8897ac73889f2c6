// The CLI's HTTP client for the orchestrator API: URL and token from flags or environment,
// JSON and streamed bodies, server refusals turned into exit code 3, network trouble into 1.
// Also the small output helpers the command groups share (--json, progress bars on a TTY).
import { readFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';

/** The CLI's exit codes (main.ts re-exports them as EXIT; importing main would run the CLI). */
export const CLI_EXIT = { ok: 0, failure: 1, usage: 2, refused: 3, paused: 4, aborted: 5 } as const;

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
/** Largest response body the CLI reads (lists of 1,000 devices fit comfortably). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** An error main.ts prints as `fleet-ota: <message> (<code>)` and exits with `exitCode`. */
export class CliError extends Error {
  constructor(
    readonly exitCode: number,
    readonly code: string,
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export interface ApiOptions {
  api?: string;
  token?: string;
  json?: boolean;
}

/** Adds --api, --token and --json to a command. */
export function withApiOptions(command: Command): Command {
  return command
    .option('--api <url>', `orchestrator API base URL (env FLEET_API_URL, default ${DEFAULT_API_URL})`)
    .option('--token <token>', 'bearer token (env FLEET_API_TOKEN; prefer the environment: flags show in ps)')
    .option('--json', 'print JSON for scripts instead of text');
}

export interface ApiClient {
  readonly baseUrl: string;
  request<T>(method: string, path: string, body?: RequestBody): Promise<T>;
}

export type RequestBody =
  | { json: unknown }
  | { stream: Readable; contentType: string; length?: number; onProgress?: (sentBytes: number) => void };

export function createApiClient(options: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const baseUrl = (options.api ?? env.FLEET_API_URL ?? DEFAULT_API_URL).replace(/\/+$/, '');
  let base: URL;
  try {
    base = new URL(baseUrl);
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new CliError(CLI_EXIT.usage, 'bad_api_url', `--api ${baseUrl} is not an http(s) URL`);
  }
  const token = options.token ?? env.FLEET_API_TOKEN;
  return {
    baseUrl,
    request: <T>(method: string, path: string, body?: RequestBody) => send<T>(base, token, method, path, body),
  };
}

async function readBody(response: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_RESPONSE_BYTES) throw new CliError(CLI_EXIT.failure, 'response_too_large', 'the server answered more than 64 MiB');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send<T>(base: URL, token: string | undefined, method: string, path: string, body?: RequestBody): Promise<T> {
  const url = new URL(`${base.pathname.replace(/\/$/, '')}${path}`, base);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  let payload: Buffer | undefined;
  if (body && 'json' in body) {
    payload = Buffer.from(JSON.stringify(body.json));
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(payload.length);
  } else if (body) {
    headers['content-type'] = body.contentType;
    if (body.length !== undefined) headers['content-length'] = String(body.length);
  }
  const requestFn = url.protocol === 'https:' ? httpsRequest : httpRequest;

  return new Promise<T>((resolve, reject) => {
    let answered = false;
    const req = requestFn(url, { method, headers }, (response) => {
      answered = true;
      readBody(response).then((text) => {
        const status = response.statusCode ?? 0;
        let parsed: unknown;
        try {
          parsed = text.length > 0 ? JSON.parse(text) : undefined;
        } catch {
          parsed = undefined;
        }
        if (status >= 200 && status < 300) return resolve(parsed as T);
        const error = parsed as { code?: string; message?: string } | undefined;
        const code = error?.code ?? `http_${status}`;
        const message = error?.message ?? `${method} ${path} answered ${status}`;
        // 4xx: the server refused this input (3); 5xx: a failure worth retrying (1).
        reject(new CliError(status >= 400 && status < 500 ? CLI_EXIT.refused : CLI_EXIT.failure, code, message, status));
      }, reject);
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      // A server that refuses an upload early answers, then closes: its answer wins.
      if (answered) return;
      reject(new CliError(CLI_EXIT.failure, 'network', `cannot reach ${base.origin}: ${error.code ?? error.message}`));
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

/** Prints `value` as JSON (--json) or the text `human` returns. */
export function output(options: ApiOptions, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** A byte progress bar on stderr when it is a terminal and the output is for humans. */
export function byteProgress(options: ApiOptions, total: number, label: string): { update(bytes: number): void; stop(): void } {
  if (options.json || !process.stderr.isTTY || total <= 0) return { update: () => {}, stop: () => {} };
  const bar = new cliProgress.SingleBar(
    { format: `${label} [{bar}] {percentage}% | {value_mib}/{total_mib} MiB | {eta_formatted}`, stream: process.stderr, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  bar.start(total, 0, { value_mib: mib(0), total_mib: mib(total) });
  return {
    update: (bytes) => bar.update(bytes, { value_mib: mib(bytes) }),
    stop: () => bar.stop(),
  };
}

/** A table of rows as aligned text columns. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)].join('\n');
}

/** Field names that only a private key file carries (ours: `secretKey`; others' habits too). */
const SECRET_FIELDS = new Set(['secretkey', 'privatekey', 'private_key', 'secret_key', 'seed', 'd']);
/** How deep the secret search looks; documents the CLI sends are shallow. */
const MAX_SECRET_SEARCH_DEPTH = 8;

/** The path of the first field that looks like private key material, if any. */
function secretField(value: unknown, path: string, depth = 0): string | undefined {
  if (depth > MAX_SECRET_SEARCH_DEPTH || typeof value !== 'object' || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (SECRET_FIELDS.has(key.toLowerCase()) && typeof child === 'string') return `${path}${key}`;
    const found = secretField(child, `${path}${key}.`, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Reads a JSON document the CLI is about to send to the server; a missing or malformed file is
 * a usage error, and so is a private key file: it is refused before any byte leaves the machine.
 */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new CliError(CLI_EXIT.usage, 'file_not_found', `cannot read ${path}`);
  }
  const refuse = (what: string) => new CliError(CLI_EXIT.usage, 'private_key_file', `${path} is a private key file (${what}); private keys never leave this machine, nothing was sent. Send the signed document instead (e.g. root.N.json from fleet-ota keys init / sign-root)`);
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw refuse('PEM private key');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new CliError(CLI_EXIT.usage, 'bad_json', `${path} is not valid JSON`);
  }
  const field = secretField(value, '');
  if (field) throw refuse(`field ${field}`);
  return value;
}
