import { describe, expect, it } from 'vitest';
import { planWaves, shuffleForRollout } from '../../../orchestrator/rollouts/plan-waves.js';
import { rolloutSpecSchema, waveSpecSchema } from '../../../orchestrator/rollouts/spec.js';

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

  it('gives a small fleet at least one device per percent wave, and leaves what the waves do not reach out', () => {
    expect(planWaves('r1', ids.slice(0, 3), [wave({ percent: 1 }), wave({ percent: 50 }), wave({ percent: 100 })]).map((w) => w.length)).toEqual([1, 1, 1]);
    // Only a held remainder reaches here (spec.ts): the last wave no longer swallows the rest.
    expect(planWaves('r1', ids, [wave({ percent: 10 }), wave({ percent: 50 })]).map((w) => w.length)).toEqual([100, 400]);
    expect(planWaves('r1', ids, [wave({ count: 10 })]).map((w) => w.length)).toEqual([10]);
  });

  it('refuses a canary outside the target', () => {
    expect(() => planWaves('r1', ids, [wave({ deviceIds: ['nope'] })])).toThrow(expect.objectContaining({ code: 'invalid_waves' }));
  });
});

describe('rollout spec rules', () => {
  const codes = (input: object) => {
    const result = rolloutSpecSchema.safeParse({ releaseId: 'rel-1', ...input });
    return result.success ? [] : result.error.issues.map((i) => (i as { params?: { code?: string } }).params?.code ?? i.code);
  };

  it('wants a target: named devices or all: true, not neither, not both', () => {
    expect(codes({ target: {} })).toEqual(['target_required']);
    expect(codes({})).toEqual(['invalid_type']);
    expect(codes({ target: { all: true, groups: ['a'] } })).toEqual(['invalid_target']);
    expect(codes({ target: { all: true } })).toEqual([]);
    expect(codes({ target: { groups: ['a'] } })).toEqual([]);
  });

  it('wants cumulative, strictly increasing waves that end at 100% unless the remainder is held', () => {
    expect(codes({ target: { all: true }, waves: [{ percent: 10 }, { percent: 5 }] })).toEqual(['invalid_waves', 'invalid_waves']);
    expect(codes({ target: { all: true }, waves: [{ percent: 10 }, { percent: 10 }, { percent: 100 }] })).toEqual(['invalid_waves']);
    expect(codes({ target: { all: true }, waves: [{ percent: 10 }, { percent: 50 }] })).toEqual(['invalid_waves']);
    expect(codes({ target: { all: true }, waves: [{ percent: 100 }, { count: 5 }] })).toEqual(['invalid_waves']);
    expect(codes({ target: { all: true }, waves: [{ count: 5 }, { count: 50 }] })).toEqual(['invalid_waves']);
    expect(codes({ target: { all: true }, waves: [{ percent: 10 }, { percent: 50 }], holdRemainder: true })).toEqual([]);
    expect(codes({ target: { all: true }, waves: [{ deviceIds: ['d1'] }, { count: 5 }, { percent: 20 }, { percent: 100 }] })).toEqual([]);
    expect(codes({ target: { all: true } })).toEqual([]); // default: one 100% wave
  });

  it('refuses a dynamic rollout that holds its remainder (joiners go to the last wave)', () => {
    expect(codes({ target: { tags: ['eu'] }, dynamic: true })).toEqual([]);
    expect(codes({ target: { tags: ['eu'] }, waves: [{ percent: 10 }, { percent: 50 }], holdRemainder: true, dynamic: true })).toEqual(['invalid_target']);
  });
});
