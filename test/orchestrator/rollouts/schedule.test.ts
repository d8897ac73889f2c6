// Schedules and rates as pure functions: windows (croner's cron in a time zone), start and end,
// the exponential ramp. Fixed instants only: nothing here reads the clock or the calendar.
import { describe, expect, it } from 'vitest';
import { parseWireTime } from '../../../protocol/index.js';
import { currentRate, plannedDelays, scheduleGate, sliceSizeFor, windowProblem, windowsAt } from '../../../orchestrator/rollouts/schedule.js';
import { parseRolloutSpec } from '../../../orchestrator/rollouts/spec.js';
import { RolloutError } from '../../../orchestrator/rollouts/errors.js';

const at = (text: string) => parseWireTime(text)!;
// 2030-01-07 is a Monday.
const nightly = { cron: '0 2 * * *', durationMinutes: 120, timeZone: 'UTC' };

describe('maintenance windows', () => {
  it('is open from each occurrence for its duration, and says when it closes or opens next', () => {
    expect(windowsAt([nightly], at('2030-01-07T01:59:59Z'))).toEqual({ open: false, opensAt: at('2030-01-07T02:00:00Z') });
    expect(windowsAt([nightly], at('2030-01-07T02:00:00Z'))).toEqual({ open: true, closesAt: at('2030-01-07T04:00:00Z') });
    expect(windowsAt([nightly], at('2030-01-07T03:59:59Z'))).toEqual({ open: true, closesAt: at('2030-01-07T04:00:00Z') });
    expect(windowsAt([nightly], at('2030-01-07T04:00:00Z'))).toEqual({ open: false, opensAt: at('2030-01-08T02:00:00Z') });
  });
  it('reads the cron in its time zone (Asia/Tokyo is UTC+9, no DST)', () => {
    const tokyo = { cron: '0 2 * * *', durationMinutes: 60, timeZone: 'Asia/Tokyo' };
    expect(windowsAt([tokyo], at('2030-01-06T17:30:00Z')).open).toBe(true);
    expect(windowsAt([tokyo], at('2030-01-07T02:30:00Z')).open).toBe(false);
  });
  it('follows daylight saving time in a zone that has it', () => {
    const berlin = { cron: '0 2 * * *', durationMinutes: 60, timeZone: 'Europe/Berlin' };
    // 02:00 in Berlin is 01:00Z in winter (CET) and 00:00Z in summer (CEST).
    expect(windowsAt([berlin], at('2030-01-07T01:30:00Z')).open).toBe(true);
    expect(windowsAt([berlin], at('2030-07-08T00:30:00Z')).open).toBe(true);
    expect(windowsAt([berlin], at('2030-07-08T01:30:00Z')).open).toBe(false);
  });
  it('takes any of several windows (weekdays at night, weekends all afternoon)', () => {
    const windows = [{ cron: '0 22 * * MON-FRI', durationMinutes: 240, timeZone: 'UTC' }, { cron: '0 12 * * SAT,SUN', durationMinutes: 360, timeZone: 'UTC' }];
    expect(windowsAt(windows, at('2030-01-08T01:00:00Z')).open).toBe(true); // Monday 22:00 + 3 h
    expect(windowsAt(windows, at('2030-01-08T12:00:00Z')).open).toBe(false); // Tuesday noon
    expect(windowsAt(windows, at('2030-01-12T13:00:00Z')).open).toBe(true); // Saturday
  });
  it('names what is wrong with a cron or a time zone', () => {
    expect(windowProblem(nightly)).toBeUndefined();
    expect(windowProblem({ cron: '61 * * * *', timeZone: 'UTC' })).toMatch(/minute/);
    expect(windowProblem({ cron: '0 2 * *', timeZone: 'UTC' })).toMatch(/cron/);
    expect(windowProblem({ cron: '0 2 * * *', timeZone: 'Mars/Olympus' })).toMatch(/unknown time zone/);
  });
});

describe('schedule gate', () => {
  const schedule = { startAt: at('2030-01-07T01:00:00Z'), endAt: at('2030-01-09T03:00:00Z'), windows: [nightly] };
  it('waits for startAt, then for a window, and ends at endAt', () => {
    expect(scheduleGate(undefined, 0)).toEqual({ state: 'open' });
    expect(scheduleGate(schedule, at('2030-01-07T00:00:00Z'))).toEqual({ state: 'before_start', opensAt: schedule.startAt });
    expect(scheduleGate(schedule, at('2030-01-07T01:30:00Z'))).toEqual({ state: 'outside_window', opensAt: at('2030-01-07T02:00:00Z') });
    expect(scheduleGate(schedule, at('2030-01-08T02:30:00Z'))).toEqual({ state: 'open', closesAt: at('2030-01-08T04:00:00Z') });
    // The last window is cut short by endAt; after it nothing opens again.
    expect(scheduleGate(schedule, at('2030-01-09T02:30:00Z'))).toEqual({ state: 'open', closesAt: schedule.endAt });
    expect(scheduleGate(schedule, schedule.endAt)).toEqual({ state: 'ended' });
    expect(scheduleGate({ endAt: at('2030-01-08T01:00:00Z'), windows: [nightly] }, at('2030-01-07T05:00:00Z'))).toEqual({ state: 'outside_window' });
  });
});

describe('rates', () => {
  const ramp = { maxPerMinute: 1_000, exponential: { basePerMinute: 60, incrementFactor: 2, increaseEvery: { notified: 100 } } };
  it('multiplies the base rate by the factor at every step of the trigger count, up to the ceiling', () => {
    expect(currentRate({ maxPerMinute: 300 }, { notified: 10_000, succeeded: 0 })).toBe(300);
    expect(currentRate(ramp, { notified: 99, succeeded: 0 })).toBe(60);
    expect(currentRate(ramp, { notified: 100, succeeded: 0 })).toBe(120);
    expect(currentRate(ramp, { notified: 350, succeeded: 0 })).toBe(480);
    expect(currentRate(ramp, { notified: 10_000_000, succeeded: 0 })).toBe(1_000);
    const bySuccess = { ...ramp, exponential: { ...ramp.exponential, increaseEvery: { succeeded: 10 } } };
    expect(currentRate(bySuccess, { notified: 500, succeeded: 9 })).toBe(60);
    expect(currentRate(bySuccess, { notified: 500, succeeded: 20 })).toBe(240);
  });
  it('plans slices of a second at the starting rate, spaced by the rate at each point', () => {
    expect(sliceSizeFor(ramp, 500)).toBe(1);
    expect(sliceSizeFor({ maxPerMinute: 600 }, 500)).toBe(10);
    expect(sliceSizeFor({ maxPerMinute: 600_000 }, 500)).toBe(500);
    expect(plannedDelays({ maxPerMinute: 600 }, 3, 10, 0)).toEqual([0, 1_000, 2_000]);
    const fast = { maxPerMinute: 2_400, exponential: { basePerMinute: 600, incrementFactor: 2, increaseEvery: { notified: 20 } } };
    // 10 a second for the first 20, then 20 a second, then 40.
    expect(plannedDelays(fast, 6, 10, 0)).toEqual([0, 1_000, 2_000, 2_500, 3_000, 3_250]);
  });
});

describe('spec: schedule, rate and retry', () => {
  const base = { releaseId: 'r', target: { all: true } };
  const code = (input: unknown) => {
    try {
      parseRolloutSpec(input);
      return 'ok';
    } catch (error) {
      return (error as RolloutError).code;
    }
  };
  it('accepts a full schedule, a ramp and a retry policy, with defaults', () => {
    const spec = parseRolloutSpec({ ...base, schedule: { startAt: '2030-01-07T00:00:00Z', endAt: '2030-01-08T00:00:00Z', windows: [{ cron: '0 2 * * *', durationMinutes: 60 }] }, rate: ramp(), retry: { maxAttempts: 2 } });
    expect(spec.schedule!.windows![0]!.timeZone).toBe('UTC');
    expect(spec.retry).toEqual({ maxAttempts: 2, backoffSeconds: 60, backoffFactor: 2, reasons: ['download_failed', 'install_failed', 'health_check_failed'] });
  });
  it('refuses a schedule or a rate that cannot be, with its code', () => {
    expect(code({ ...base, schedule: { startAt: '2030-01-08T00:00:00Z', endAt: '2030-01-07T00:00:00Z' } })).toBe('invalid_schedule');
    expect(code({ ...base, schedule: { windows: [{ cron: '0 25 * * *', durationMinutes: 60 }] } })).toBe('invalid_schedule');
    expect(code({ ...base, schedule: { windows: [{ cron: '0 2 * * *', durationMinutes: 60, timeZone: 'Nowhere/City' }] } })).toBe('invalid_schedule');
    expect(code({ ...base, schedule: { startAt: '2030-02-30T00:00:00Z' } })).toBe('bad_request');
    expect(code({ ...base, maxNotificationsPerMinute: 10, rate: { maxPerMinute: 10 } })).toBe('invalid_rate');
    expect(code({ ...base, rate: { maxPerMinute: 10, exponential: { basePerMinute: 20, incrementFactor: 2, increaseEvery: { notified: 5 } } } })).toBe('invalid_rate');
    expect(code({ ...base, rate: { maxPerMinute: 100, exponential: { basePerMinute: 20, incrementFactor: 2, increaseEvery: { notified: 5, succeeded: 5 } } } })).toBe('bad_request');
    expect(code({ ...base, retry: { maxAttempts: 11 } })).toBe('bad_request');
    expect(code({ ...base, retry: { maxAttempts: 1, reasons: ['no_such_reason'] } })).toBe('bad_request');
  });
  function ramp() {
    return { maxPerMinute: 100, exponential: { basePerMinute: 10, incrementFactor: 1.5, increaseEvery: { succeeded: 5 } } };
  }
});
