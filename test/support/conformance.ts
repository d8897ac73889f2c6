// The conformance vectors of ../shared/conformance (an independent implementation of
// docs/protocol.md). The team's copy beside the repository is authoritative; a verbatim copy under
// test/vectors/conformance/ lets a clone elsewhere (CI) run them too. When both exist they must
// be byte-identical, so the copy cannot drift.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SHARED = fileURLToPath(new URL('../../../shared/conformance/', import.meta.url));
const COPY = fileURLToPath(new URL('../vectors/conformance/', import.meta.url));

export type ConformanceFile = 'directive-vectors.json' | 'token-vectors.json';

export function conformanceText(file: ConformanceFile): { text: string; source: 'shared' | 'copy' } {
  const copy = readFileSync(`${COPY}${file}`, 'utf8');
  if (!existsSync(`${SHARED}${file}`)) return { text: copy, source: 'copy' };
  const shared = readFileSync(`${SHARED}${file}`, 'utf8');
  if (shared !== copy) throw new Error(`test/vectors/conformance/${file} differs from ../shared/conformance/${file}: copy the shared file again`);
  return { text: shared, source: 'shared' };
}

export function loadConformance<T>(file: ConformanceFile): T {
  return JSON.parse(conformanceText(file).text) as T;
}
