// Rewrites the worked-example blocks of docs/protocol.md from the builders (run after changing a
// builder or an example): npx tsx test/protocol/docs/write-examples.ts
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { blocksIn, buildProtocolExamples, exampleBlock } from './examples.js';

const docPath = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));
let doc = readFileSync(docPath, 'utf8');
const present = blocksIn(doc);
for (const [name, text] of buildProtocolExamples().blocks) {
  const old = present.get(name);
  if (old === undefined) throw new Error(`docs/protocol.md has no block <!-- example: ${name} -->`);
  doc = doc.replace(old, () => exampleBlock(name, text));
}
writeFileSync(docPath, doc);
console.log(`rewrote ${present.size} example blocks in docs/protocol.md`);
