import { describe, expect, it } from 'vitest';
import { planWaves, shuffleForRollout, WavePlanError } from '../../../orchestrator/rollouts/plan-waves.js';
import { waveSpecSchema } from '../../../orchestrator/rollouts/spec.js';

const ids = Array.from({ length: 1000 }, (_, i) => `dev-${String(i).padStart(4, '0')}`);
const wave = (input: object) => waveSpecSchema.parse(input);

describe('planWaves', () => {
  it('splits cumulative percentages and puts every device in exactly one wave', () => {
    const waves = planWaves('r1', ids, [wave({ percent: 1 }), wave({ percent: 10 }), wave({ percent: 100 })]);
    expect(waves.map((w) => w.length)).toEqual([10, 90, 900]);
    expect(new Set(waves.flat()).size).toBe(1000);
  });

  it('is deterministic for a rollout id and differs between rollouts', () => {
    const a = planWaves('r1', ids, [wave({ percent: 5 }), wave({ percent: 100 })]);
    const b = planWaves('r1', [...ids].reverse(), [wave({ percent: 5 }), wave({ percent: 100 })]);
    expect(a).toEqual(b);
    expect(shuffleForRollout('r2', ids)).not.toEqual(shuffleForRollout('r1', ids));
  });

  it('takes canaries first and never again', () => {
    const waves = planWaves('r1', ids, [wave({ deviceIds: ['dev-0007', 'dev-0500'] }), wave({ count: 100 }), wave({ percent: 100 })]);
    expect(waves[0]).toEqual(['dev-0007', 'dev-0500']);
    expect(waves[1]).toHaveLength(100);
    expect(waves[2]).toHaveLength(898);
    expect(waves.slice(1).flat()).not.toContain('dev-0007');
  });

  it('gives leftovers to the last wave and a small fleet at least one device per percent wave', () => {
    expect(planWaves('r1', ids.slice(0, 3), [wave({ percent: 1 }), wave({ percent: 50 })]).map((w) => w.length)).toEqual([1, 2]);
    expect(planWaves('r1', ids, [wave({ count: 10 })]).map((w) => w.length)).toEqual([1000]);
  });

  it('refuses a canary outside the target', () => {
    expect(() => planWaves('r1', ids, [wave({ deviceIds: ['nope'] })])).toThrow(WavePlanError);
  });
});
