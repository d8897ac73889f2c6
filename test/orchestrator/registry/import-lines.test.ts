// The streaming line reader and CSV field splitter: lines split across chunks (and inside a
// UTF-8 character), CRLF, an over-long line dropped without buffering it, the byte limit.
import { describe, expect, it } from 'vitest';
import { readLines, splitCsvRow } from '../../../orchestrator/registry/import-lines.js';

async function lines(chunks: Array<string | Buffer>, limits = { maxBytes: 1e6, maxLineChars: 16 }) {
  const out: Array<[number, string, boolean]> = [];
  for await (const line of readLines((async function* () { yield* chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)); })(), limits)) {
    out.push([line.number, line.text, line.tooLong === true]);
  }
  return out;
}

describe('readLines', () => {
  it('joins lines split across chunks and strips CR', async () => {
    expect(await lines(['ab', 'c\r\nde', 'f\n\ng', 'h'])).toEqual([[1, 'abc', false], [2, 'def', false], [3, '', false], [4, 'gh', false]]);
  });

  it('decodes a UTF-8 character split between chunks', async () => {
    const bytes = Buffer.from('é€\n');
    expect(await lines([bytes.subarray(0, 1), bytes.subarray(1, 3), bytes.subarray(3)])).toEqual([[1, 'é€', false]]);
  });

  it('reports an over-long line once and goes on with the next', async () => {
    expect(await lines(['short\n', 'x'.repeat(10), 'x'.repeat(10), 'x'.repeat(10), '\nnext\n', 'y'.repeat(40)])).toEqual([
      [1, 'short', false],
      [2, '', true],
      [3, 'next', false],
      [4, '', true],
    ]);
  });

  it('throws too_large past the byte limit', async () => {
    await expect(lines(['0123456789\n', '0123456789\n'], { maxBytes: 15, maxLineChars: 100 })).rejects.toMatchObject({ code: 'too_large' });
  });
});

describe('splitCsvRow', () => {
  it.each([
    ['a,b,c', ['a', 'b', 'c']],
    ['a,,', ['a', '', '']],
    ['"a,b","say ""hi""",c', ['a,b', 'say "hi"', 'c']],
    ['""', ['']],
  ])('%s', (row, fields) => {
    expect(splitCsvRow(row)).toEqual(fields);
  });

  it.each(['"open', '"a"b', 'a,"b', 'a"b'])('refuses %s', (row) => {
    expect(splitCsvRow(row)).toBeUndefined();
  });
});
