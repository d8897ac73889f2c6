// timeLimit: the work's answer when it is first, the timeout's otherwise, and no timer or
// rejection left behind either way.
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { timeLimit } from '../../runtime/time-limit.js';

describe('timeLimit', () => {
  it('resolves with the work when it settles first, and never calls onTimeout', async () => {
    let called = false;
    await expect(timeLimit(sleep(5, 'done'), 1_000, () => (called = true))).resolves.toBe('done');
    await sleep(20);
    expect(called).toBe(false);
  });

  it('passes the work\'s rejection through', async () => {
    await expect(timeLimit(Promise.reject(new Error('boom')), 1_000, () => 'late')).rejects.toThrow('boom');
  });

  it('answers what onTimeout returns, or rejects with what it throws, once the time is up', async () => {
    const never = new Promise<string>(() => undefined);
    await expect(timeLimit(never, 10, () => 'grace over')).resolves.toBe('grace over');
    await expect(timeLimit(never, 10, () => {
      throw Object.assign(new Error('timed out'), { code: 'ERR_TIMEOUT' });
    })).rejects.toMatchObject({ code: 'ERR_TIMEOUT' });
  });
});
