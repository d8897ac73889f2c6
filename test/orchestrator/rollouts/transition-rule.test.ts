// The status transition rule has one source: protocol's isForwardTransition. The Lua that
// really decides (state/rollouts/scripts.ts applyStatus, on real Redis) is held to it here: for every
// (from, to) state pair and progress order, a report applies iff the rule says it is forward.
import { describe, expect, it } from 'vitest';
import { rolloutKeys } from '../../../state/rollouts/keys.js';
import { DEVICE_STATES, isForwardTransition } from '../../../protocol/index.js';
import { statusReport, useRolloutState } from './rollout-state-fixture.js';

const rid = 'r-rule';
// (current progress, reported progress): equal, more and less progress.
const PROGRESS: ReadonlyArray<[number, number]> = [[0, 0], [10, 40], [40, 10]];

const fixture = useRolloutState('transition-rule');

describe('applyStatus (Lua) follows isForwardTransition', () => {
  it('applies a report iff the rule calls it forward, for every state pair', async () => {
    const { redis, rollouts, prefix } = fixture;
    const cases = DEVICE_STATES.flatMap((from) => DEVICE_STATES.flatMap((to) => PROGRESS.map(([p0, p1]) => ({ from, to, p0, p1 }))));
    const mismatches: string[] = [];
    for (const [i, c] of cases.entries()) {
      const id = `d${i}`;
      // The device holds directive counter 1 of this rollout, in wave 0, in state `from`.
      await redis.hset(rolloutKeys(prefix, rid).devices, id, `${c.from}|0|1|${c.p0}|`);
      const [result] = await rollouts.applyStatusReports([statusReport({ deviceId: id, rolloutId: rid, seq: 1, state: c.to, progress: c.p1 })]);
      const outcome = result?.outcome;
      const stored = (await redis.hget(rolloutKeys(prefix, rid).devices, id))?.split('|');
      const expected = isForwardTransition(c.from, c.to, c.p0, c.p1);
      const applied = outcome === 'applied';
      // An applied report leaves the device in the reported state and progress; any other keeps it.
      const state = applied ? [c.to, String(c.p1)] : [c.from, String(c.p0)];
      if (applied !== expected || stored?.[0] !== state[0] || stored?.[3] !== state[1]) {
        mismatches.push(`${c.from}(${c.p0}) -> ${c.to}(${c.p1}): ${outcome}, rule says ${expected ? 'forward' : 'not forward'}`);
      }
    }
    expect(cases.length).toBe(DEVICE_STATES.length ** 2 * PROGRESS.length);
    expect(mismatches).toEqual([]);
  });
});
