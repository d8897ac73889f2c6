// The repository stands on its own: every citation of the contract points into docs/, and every
// section anchor cited (docs/protocol.md#..., docs/design.md#...) names a heading that exists.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SKIP = new Set(['node_modules', '.git', 'dist', '.fleet-ota', 'bench/results', 'test/artifacts',
  // A verbatim copy of the shared conformance vectors (checked byte-equal to the source): not ours to edit.
  'test/vectors/conformance']);
const TEXT = /\.(ts|js|mjs|md|lua|json|yml|yaml)$|^Dockerfile$/;

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const rel = relative(ROOT, path);
    if (SKIP.has(name) || SKIP.has(rel)) continue;
    if (statSync(path).isDirectory()) files(path, out);
    else if (TEXT.test(name)) out.push(path);
  }
  return out;
}

/** GitHub's heading anchors: lowercase, punctuation dropped, spaces to hyphens. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    anchors.add(m[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return anchors;
}

describe('contract citations', () => {
  const all = files(ROOT);
  const docs = {
    'docs/protocol.md': anchorsOf(readFileSync(join(ROOT, 'docs/protocol.md'), 'utf8')),
    'docs/design.md': anchorsOf(readFileSync(join(ROOT, 'docs/design.md'), 'utf8')),
  };

  it('cite docs/, never the old contract files that lived outside the repository', () => {
    const stale = all.filter((f) => /(?<![\w/])(PROTOCOL|DESIGN)\.md/.test(readFileSync(f, 'utf8'))).map((f) => relative(ROOT, f));
    expect(stale).toEqual([]);
  });

  it('cite only anchors that exist', () => {
    const missing: string[] = [];
    let cited = 0;
    for (const f of all) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/(?:docs\/)?(protocol|design)\.md#([a-z0-9-]+)/g)) {
        if (!m[0].startsWith('docs/') && !relative(ROOT, f).startsWith('docs/')) continue;
        cited++;
        if (!docs[`docs/${m[1]}.md` as keyof typeof docs].has(m[2]!)) missing.push(`${relative(ROOT, f)}: ${m[0]}`);
      }
    }
    expect(missing).toEqual([]);
    expect(cited).toBeGreaterThan(50);
  });
});
