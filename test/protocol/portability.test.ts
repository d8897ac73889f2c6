// protocol/ claims to run unchanged on non-Node devices (docs/design.md#layout). This walks its
// import graph from the barrel and fails on any Node built-in, on any package other than the
// pure libraries it is allowed, and on any relative import that leaves protocol/.
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const PROTOCOL = resolve(ROOT, 'protocol');
const ENTRY = resolve(PROTOCOL, 'index.ts');

/** Pure JavaScript libraries (no Node built-ins, no I/O) protocol/ may import. */
const ALLOWED_PACKAGES = ['@noble/ed25519', '@noble/hashes', 'canonicalize', 'zod'];

function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

interface Graph {
  files: string[];
  packages: Map<string, string[]>;
  problems: string[];
}

/** Every module reachable from `entry` (static, re-export, type-only and dynamic imports). */
function walk(entry: string): Graph {
  const graph: Graph = { files: [], packages: new Map(), problems: [] };
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    graph.files.push(relative(ROOT, file));
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      const from = relative(ROOT, file);
      if (specifier.startsWith('.')) {
        const target = resolve(dirname(file), specifier.replace(/\.js$/, '.ts'));
        if (!target.startsWith(PROTOCOL + '/')) graph.problems.push(`${from}: ${specifier} leaves protocol/`);
        else queue.push(target);
        continue;
      }
      const name = packageOf(specifier);
      graph.packages.set(name, [...(graph.packages.get(name) ?? []), from]);
      if (specifier.startsWith('node:')) graph.problems.push(`${from}: ${specifier} is a Node built-in`);
      else if (!ALLOWED_PACKAGES.includes(name)) graph.problems.push(`${from}: ${specifier} is not an allowed pure library`);
    }
  }
  return graph;
}

describe('protocol/ portability', () => {
  const graph = walk(ENTRY);

  it('imports no Node built-in and no package beyond the pure libraries, from the barrel down', () => {
    expect(graph.problems).toEqual([]);
  });

  it('walks the whole contract (the graph is not trivially empty)', () => {
    for (const file of ['protocol/crypto/ed25519.ts', 'protocol/device/check-directive.ts', 'protocol/token.ts', 'protocol/encoding/canonical.ts']) {
      expect(graph.files).toContain(file);
    }
    expect([...graph.packages.keys()].sort()).toEqual([...ALLOWED_PACKAGES].sort());
  });

  it('catches a Node built-in where one is imported (the walker is not blind)', () => {
    const nodeBackend = walk(resolve(ROOT, 'node-crypto/ed25519.ts'));
    expect(nodeBackend.problems).toContain('node-crypto/ed25519.ts: node:crypto is a Node built-in');
  });
});
