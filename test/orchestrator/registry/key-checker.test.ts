// The key checker's full mode through its real worker pool (piscina, worker threads loading the
// TypeScript sources): verdicts in order for batches past the inline size, small batches inline,
// and a closed checker refusing work.
import { afterAll, describe, expect, it } from 'vitest';
import { encodePublicKey } from '../../../protocol/index.js';
import { createKeyChecker } from '../../../orchestrator/registry/key-checker.js';
import { randomDeviceKey } from '../helpers.js';

// A point of small order (the identity, y = 1): decodes, but is not of prime order.
const SMALL_ORDER = encodePublicKey(Uint8Array.from([1, ...new Array<number>(31).fill(0)]));
const checker = createKeyChecker({ mode: 'full', workers: 2 });

afterAll(async () => {
  await checker.close();
});

describe('createKeyChecker (full)', () => {
  it('answers one verdict per key, in order, from worker threads for a large batch', async () => {
    const keys = Array.from({ length: 40 }, (_, i) => (i % 5 === 0 ? SMALL_ORDER : i % 7 === 0 ? 'not-a-key' : randomDeviceKey()));
    const verdicts = await checker.check(keys);
    expect(verdicts).toEqual(keys.map((key) => key !== SMALL_ORDER && key !== 'not-a-key'));
  });

  it('runs batches side by side and small ones inline, with the same verdicts', async () => {
    const batches = Array.from({ length: 4 }, () => Array.from({ length: 20 }, () => randomDeviceKey()));
    const answers = await Promise.all([...batches.map((keys) => checker.check(keys)), checker.check([SMALL_ORDER, randomDeviceKey()])]);
    expect(answers.slice(0, 4).every((verdicts) => verdicts.length === 20 && verdicts.every(Boolean))).toBe(true);
    expect(answers[4]).toEqual([false, true]);
  });

  it('refuses work once closed', async () => {
    const other = createKeyChecker({ mode: 'full', workers: 1 });
    expect(await other.check(Array.from({ length: 10 }, () => randomDeviceKey()))).toHaveLength(10);
    await other.close();
    await expect(other.check([randomDeviceKey()])).rejects.toThrow('key checker closed');
  });
});
