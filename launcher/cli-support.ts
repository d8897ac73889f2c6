// What the command groups share: exit codes and CliError, --api/--token/--json and the API
// client they select (api-client/, with its failures read as exit codes 3 and 1), output
// helpers (--json, tables, progress bars on a TTY) and reading JSON documents to send.
import { readFile } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { createApiClient as createSharedApiClient, type ApiCallError, type ApiClient } from '../api-client/index.js';

export type { ApiClient };
import { FleetError } from '../runtime/errors.js';

/** The CLI's exit codes (main.ts re-exports them as EXIT; importing main would run the CLI). */
export const CLI_EXIT = { ok: 0, failure: 1, usage: 2, refused: 3, paused: 4, aborted: 5 } as const;

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/**
 * An error main.ts prints as `fleet-ota: <message> (<code>)` and exits with `exitCode`
 * (runtime/errors.ts family; a refusal from the API keeps the API's code and HTTP `status`).
 */
export class CliError extends FleetError {
  constructor(
    readonly exitCode: number,
    code: string,
    message: string,
    readonly status?: number,
  ) {
    super(code, message);
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

/** The orchestrator API client for a command: --api / FLEET_API_URL, --token / FLEET_API_TOKEN. */
export function createApiClient(options: ApiOptions, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const baseUrl = options.api ?? env.FLEET_API_URL ?? DEFAULT_API_URL;
  const token = options.token ?? env.FLEET_API_TOKEN;
  try {
    return createSharedApiClient({ baseUrl, ...(token ? { token } : {}) });
  } catch {
    throw new CliError(CLI_EXIT.usage, 'bad_api_url', `--api ${baseUrl.replace(/\/+$/, '')} is not an http(s) URL`);
  }
}

/**
 * The CLI's reading of an API failure (main.ts prints it): a 4xx is the server refusing this
 * input (exit 3), a 5xx or a network failure is worth retrying (exit 1). The message is the
 * server's own, as the operator should read it.
 */
export function cliErrorOf(error: ApiCallError): CliError {
  if (error.kind !== 'refused') return new CliError(CLI_EXIT.failure, error.code, error.message);
  const status = error.status ?? 0;
  return new CliError(status >= 400 && status < 500 ? CLI_EXIT.refused : CLI_EXIT.failure, error.code, error.serverMessage ?? error.message, status);
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
