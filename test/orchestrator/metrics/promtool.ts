// The real `promtool check metrics` (Prometheus' linter: counters end in _total, gauges do not,
// HELP and TYPE present, names and units as Prometheus wants). test/support/ensure-promtool.mjs
// provides it before the suite (npm test).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const LOCAL = fileURLToPath(new URL('../../../.fleet-ota/tools/promtool', import.meta.url));

export function promtoolPath(): string {
  if (process.env.PROMTOOL) return process.env.PROMTOOL;
  if (existsSync(LOCAL)) return LOCAL;
  return 'promtool';
}

/** promtool's verdict on an exposition: ok, or its complaints (one per line). */
export function promtoolCheck(text: string): { ok: boolean; problems: string } {
  const run = spawnSync(promtoolPath(), ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw new Error(`promtool could not run (${run.error.message}): node test/support/ensure-promtool.mjs provides it`);
  return { ok: run.status === 0, problems: `${run.stdout}${run.stderr}`.trim() };
}
