import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput } from '../../../orchestrator/rollouts/decide.js';
import { waveSpecSchema } from '../../../orchestrator/rollouts/spec.js';

function input(overrides: Partial<DecisionInput['wave']> = {}, top: Partial<DecisionInput> = {}): DecisionInput {
  return {
    status: 'running',
    failureAction: 'pause',
    currentWave: 0,
    waveCount: 3,
    nowSeconds: 1_000,
    wave: { spec: waveSpecSchema.parse({ successThreshold: 0.9, failureThreshold: 0.1, bakeSeconds: 10, deviceTimeoutSeconds: 100 }), size: 100, status: 'baking', notifiedAt: 950, approved: false, counts: {}, reasons: {}, ...overrides },
    ...top,
  };
}

describe('decide', () => {
  it('does nothing unless running', () => {
    expect(decide(input({}, { status: 'paused' }))).toEqual({ type: 'none' });
    expect(decide(input({ status: 'pending' }, { status: 'created' }))).toEqual({ type: 'none' });
  });
  it('starts a pending wave', () => {
    expect(decide(input({ status: 'pending' }))).toEqual({ type: 'start_wave', wave: 0 });
  });
  it('halts with the failure action once failures are strictly above the threshold, even while notifying', () => {
    expect(decide(input({ status: 'notifying', counts: { failed: 10 } })).type).toBe('none');
    expect(decide(input({ status: 'notifying', counts: { failed: 6, timed_out: 3, rejected: 2 } }))).toMatchObject({ type: 'halt', action: 'pause' });
    expect(decide(input({ counts: { failed: 11 } }, { failureAction: 'abort' }))).toMatchObject({ type: 'halt', action: 'abort' });
  });
  it('names waves 1-based in its reasons, as every human-facing text does (the index stays 0-based)', () => {
    expect(decide(input({ counts: { failed: 11, succeeded: 89 } }))).toEqual({ type: 'halt', action: 'pause', wave: 0, reason: 'failure threshold crossed in wave 1: 11 of 100 failed' });
    expect(decide(input({ counts: { succeeded: 80, failed: 10, rejected: 10 }, reasons: { declined: 10 } }, { currentWave: 2 }))).toEqual({ type: 'halt', action: 'pause', wave: 2, reason: 'success threshold not met in wave 3: 80 of 100 succeeded' });
  });
  it('does not count declined optional updates as failures', () => {
    expect(decide(input({ counts: { rejected: 20, notified: 80 }, reasons: { declined: 20 } }))).toEqual({ type: 'none' });
    expect(decide(input({ counts: { rejected: 20, notified: 80 }, reasons: { install_failed: 20 } })).type).toBe('halt');
  });
  it('holds the last wave of a dynamic rollout for approval (open to joiners), and only the last', () => {
    const done = { counts: { succeeded: 100 } };
    expect(decide(input(done, { currentWave: 2, dynamic: true }))).toEqual({ type: 'await_approval', wave: 2 });
    expect(decide(input({ ...done, status: 'awaiting_approval' }, { currentWave: 2, dynamic: true }))).toEqual({ type: 'none' });
    // A joiner still pending: it is waited for, approved or not.
    expect(decide(input({ counts: { succeeded: 100, notified: 1 }, status: 'awaiting_approval', approved: true }, { currentWave: 2, dynamic: true }))).toEqual({ type: 'none' });
    expect(decide(input({ ...done, status: 'awaiting_approval', approved: true }, { currentWave: 2, dynamic: true }))).toEqual({ type: 'promote', wave: 2, last: true });
    expect(decide(input(done, { currentWave: 0, dynamic: true }))).toEqual({ type: 'promote', wave: 0, last: false });
    expect(decide(input(done, { currentWave: 2 }))).toEqual({ type: 'promote', wave: 2, last: true });
  });
  it('waits for bake time, then promotes', () => {
    expect(decide(input({ counts: { succeeded: 95, failed: 5 } }, { nowSeconds: 955 }))).toEqual({ type: 'none' });
    expect(decide(input({ counts: { succeeded: 95, failed: 5 } }))).toEqual({ type: 'promote', wave: 0, last: false });
    expect(decide(input({ counts: { succeeded: 95, downloading: 5 } }))).toEqual({ type: 'none' });
    expect(decide(input({ counts: { succeeded: 100 } }, { currentWave: 2 }))).toEqual({ type: 'promote', wave: 2, last: true });
  });
  it('waits for approval under manual promotion', () => {
    const spec = waveSpecSchema.parse({ promotion: 'manual' });
    expect(decide(input({ spec, counts: { succeeded: 100 } }))).toEqual({ type: 'await_approval', wave: 0 });
    expect(decide(input({ spec, status: 'awaiting_approval', counts: { succeeded: 100 } }))).toEqual({ type: 'none' });
    expect(decide(input({ spec, status: 'awaiting_approval', approved: true, counts: { succeeded: 100 } }))).toMatchObject({ type: 'promote' });
    expect(decide(input({ spec, counts: { succeeded: 100 } }, { currentWave: 2 }))).toEqual({ type: 'promote', wave: 2, last: true });
  });
  it('times out devices after the device timeout', () => {
    expect(decide(input({ counts: { succeeded: 50, downloading: 50 } }, { nowSeconds: 1_049 })).type).toBe('none');
    expect(decide(input({ counts: { succeeded: 50, downloading: 50 } }, { nowSeconds: 1_050 }))).toEqual({ type: 'time_out', wave: 0 });
  });
  it('lets an overridden wave finish whatever its outcome', () => {
    expect(decide(input({ overridden: true, counts: { failed: 60, succeeded: 40 } }))).toMatchObject({ type: 'promote' });
    expect(decide(input({ overridden: true, counts: { failed: 60, installing: 40 } }))).toEqual({ type: 'none' });
  });
  it('pauses when everyone finished below the success threshold', () => {
    expect(decide(input({ counts: { succeeded: 85, rejected: 15 }, reasons: { declined: 15 } }))).toMatchObject({ type: 'halt', action: 'pause' });
  });
  it('completes a wave whose devices were all superseded by a newer rollout', () => {
    const superseded = { size: 20, counts: { canceled: 20 }, reasons: { superseded: 20 } };
    expect(decide(input(superseded))).toEqual({ type: 'promote', wave: 0, last: false });
    expect(decide(input(superseded, { currentWave: 2 }))).toEqual({ type: 'promote', wave: 2, last: true });
  });
  it('judges a partly superseded wave on the devices it still owns', () => {
    // 10 own devices: 9 succeeded meets 0.9; 2 failed of 10 crosses 0.1.
    expect(decide(input({ size: 30, counts: { canceled: 20, succeeded: 9, failed: 1 }, reasons: { superseded: 20 } }))).toMatchObject({ type: 'promote' });
    expect(decide(input({ size: 30, counts: { canceled: 20, succeeded: 8, failed: 2 }, reasons: { superseded: 20 } }))).toMatchObject({ type: 'halt', reason: expect.stringContaining('2 of 10') });
    expect(decide(input({ size: 30, counts: { canceled: 20, succeeded: 8, rejected: 1, notified: 1 }, reasons: { superseded: 20, declined: 1 } }))).toEqual({ type: 'none' });
  });
  it('after the schedule ends, starts and promotes nothing, times out stragglers, and ends once nothing is pending', () => {
    const ended = { ended: true };
    expect(decide(input({ status: 'pending', counts: { canceled: 100 } }, { ...ended, rolloutPending: 0 }))).toEqual({ type: 'end' });
    expect(decide(input({ counts: { succeeded: 95, installing: 5 } }, { ...ended, rolloutPending: 5, nowSeconds: 960 }))).toEqual({ type: 'none' });
    expect(decide(input({ counts: { succeeded: 95, installing: 5 } }, { ...ended, rolloutPending: 5, nowSeconds: 1_050 }))).toEqual({ type: 'time_out', wave: 0 });
    expect(decide(input({ counts: { succeeded: 80, failed: 20 } }, { ...ended, rolloutPending: 0 }))).toMatchObject({ type: 'halt' });
    expect(decide(input({ counts: { succeeded: 100 } }, { ...ended, status: 'paused', rolloutPending: 0 }))).toEqual({ type: 'none' });
  });
  it('keeps the last wave open while devices of earlier waves are retried', () => {
    expect(decide(input({ counts: { succeeded: 100 } }, { currentWave: 2, rolloutPending: 3 }))).toEqual({ type: 'none' });
    expect(decide(input({ counts: { succeeded: 100 } }, { currentWave: 2, rolloutPending: 0 }))).toEqual({ type: 'promote', wave: 2, last: true });
  });
});
