import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ArtifactStore } from '../../../orchestrator/artifacts/artifact-store.js';
import { createFsArtifactStore } from '../../../orchestrator/artifacts/fs-store.js';
import { withArtifactCache } from '../../../orchestrator/artifacts/memory-cache.js';

let dir: string;
let reads = 0;
let store: ArtifactStore;

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks).toString();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-cache-'));
  const fs = createFsArtifactStore(dir);
  await fs.init();
  // Count reads that reach the filesystem store.
  const counting: ArtifactStore = { ...fs, read: (sha, range) => ((reads += 1), fs.read(sha, range)) };
  store = withArtifactCache(counting, { maxArtifactBytes: 16, maxTotalBytes: 32 });
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('withArtifactCache', () => {
  it('serves the same bytes and ranges from memory after the first read of a small artifact', async () => {
    const { sha256 } = await store.put(Readable.from([Buffer.from('0123456789abcdef')]), { maxBytes: 1024 });
    await store.stat(sha256);
    expect(await text(store.read(sha256))).toBe('0123456789abcdef');
    await expect.poll(async () => {
      const before = reads;
      const whole = await text(store.read(sha256));
      const part = await text(store.read(sha256, { start: 2, end: 5 }));
      return [whole, part, reads - before];
    }).toEqual(['0123456789abcdef', '2345', 0]);
  });

  it('streams artifacts over the size limit from the store every time', async () => {
    const { sha256 } = await store.put(Readable.from([Buffer.from('x'.repeat(40))]), { maxBytes: 1024 });
    await store.stat(sha256);
    const before = reads;
    expect(await text(store.read(sha256))).toHaveLength(40);
    expect(await text(store.read(sha256, { start: 0, end: 9 }))).toBe('x'.repeat(10));
    expect(reads - before).toBe(2);
  });

  it('does not remember an artifact that is missing (an upload may add it)', async () => {
    const sha256 = createHash('sha256').update('late').digest('hex');
    expect(await store.stat(sha256)).toBeUndefined();
    await store.put(Readable.from([Buffer.from('late')]), { maxBytes: 1024 });
    expect(await store.stat(sha256)).toMatchObject({ size: 4 });
  });

  it('keeps at most maxTotalBytes, dropping the least recently read artifact first', async () => {
    const put = async (fill: string) => (await store.put(Readable.from([Buffer.from(fill.repeat(16))]), { maxBytes: 1024 })).sha256;
    const [a, b, c] = [await put('a'), await put('b'), await put('c')];
    // Reads that reach the store: 0 once the artifact is held in memory.
    const storeReads = async (sha256: string) => {
      const before = reads;
      await text(store.read(sha256));
      return reads - before;
    };
    for (const sha256 of [a, b]) {
      await store.stat(sha256);
      await expect.poll(() => storeReads(sha256)).toBe(0);
    }
    expect(await storeReads(a)).toBe(0); // a is now the most recently read
    await store.stat(c);
    await expect.poll(() => storeReads(c)).toBe(0); // 48 bytes > 32: b goes
    expect(await storeReads(a)).toBe(0);
    expect(await storeReads(b)).toBeGreaterThan(0); // from the store again (and loaded anew)
  });
});
