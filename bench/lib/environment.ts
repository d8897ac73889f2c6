// What a benchmark result must say about where it ran: versions, cores, and the machine's load
// (the figures assume an otherwise idle machine). Reads package.json files; no network.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { round } from './stats.js';

export interface BenchEnvironment {
  node: string;
  aedes: string;
  mqtt: string;
  cpus: number;
  /** Other work on the machine at the end of the run. */
  loadAverage1m: number;
}

/** The installed version of a dependency, or 'unknown'. */
export function packageVersion(name: string): string {
  try {
    // Walk up from the resolved entry to the package's own package.json (exports hide it).
    let dir = dirname(fileURLToPath(import.meta.resolve(name)));
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      try {
        const json = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
        if (json.name === name && json.version) return json.version;
      } catch {
        // not here; go up
      }
    }
  } catch {
    // unresolvable
  }
  return 'unknown';
}

export function benchEnvironment(): BenchEnvironment {
  return { node: process.version, aedes: packageVersion('aedes'), mqtt: packageVersion('mqtt'), cpus: availableParallelism(), loadAverage1m: round(loadavg()[0] ?? Number.NaN, 2) };
}
