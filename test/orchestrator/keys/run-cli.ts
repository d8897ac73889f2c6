// Runs the real `fleet-ota` binary (node launcher/fleet-ota.js) as a child process,
// the way an operator or a script would, and captures exit code, output and error code.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RootEnvelope } from '../../../protocol/index.js';

/** Each CLI run starts node + tsx (~0.7 s idle); a loaded 2-core box can take several times that. */
export const CLI_TEST_TIMEOUT_MS = 180_000;

const CLI = fileURLToPath(new URL('../../../launcher/fleet-ota.js', import.meta.url));

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The `(<code>)` main.ts prints after the message, if any (snake_case, docs/design.md#errors). */
  code: string | undefined;
}

export function runCli(args: string[], cwd?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr, code: /\(([a-z][a-z0-9_]*)\)\s*$/.exec(stderr)?.[1] }));
  });
}

/** Runs the CLI and returns its parsed `--json` output; throws with stderr on a non-zero exit. */
export async function runJson<T>(args: string[]): Promise<T> {
  const result = await runCli([...args, '--json']);
  if (result.status !== 0) throw new Error(`fleet-ota ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

export async function readRoot(dir: string, version: number): Promise<RootEnvelope> {
  return JSON.parse(await readFile(join(dir, `root.${version}.json`), 'utf8')) as RootEnvelope;
}

export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'fleet-ota-keys-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
