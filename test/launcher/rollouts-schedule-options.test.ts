// The CLI's schedule, rate and retry options as they become a spec, checked against the server's
// own spec parser (so the CLI cannot build what the API refuses).
import { describe, expect, it } from 'vitest';
import { parseMaintenance, parseRamp, specFromOptions } from '../../launcher/commands/rollouts.js';
import { parseRolloutSpec } from '../../orchestrator/rollouts/spec.js';

const base = { release: 'fw-2', group: ['eu'], waves: '100%', start: true };

describe('rollouts create: schedule and rate options', () => {
  it('reads a maintenance window as cron, duration and time zone', () => {
    expect(parseMaintenance('0 22 * * MON-FRI 4h Europe/Berlin')).toEqual({ cron: '0 22 * * MON-FRI', durationMinutes: 240, timeZone: 'Europe/Berlin' });
    expect(parseMaintenance('0 0 2 * * * 90m')).toEqual({ cron: '0 0 2 * * *', durationMinutes: 90 });
    expect(() => parseMaintenance('0 22 * * MON-FRI')).toThrow(/duration/);
    expect(() => parseMaintenance('0 22 * 4h')).toThrow(/cron/);
  });
  it('reads a ramp and refuses one without its ceiling', () => {
    expect(parseRamp('50,2,succeeded:100')).toEqual({ basePerMinute: 50, incrementFactor: 2, increaseEvery: { succeeded: 100 } });
    expect(parseRamp('10,1.5,notified:20')).toEqual({ basePerMinute: 10, incrementFactor: 1.5, increaseEvery: { notified: 20 } });
    expect(() => parseRamp('50,2')).toThrow(/--ramp/);
    expect(() => specFromOptions({ ...base, ramp: '50,2,notified:10' })).toThrow(/--max-per-minute/);
  });
  it('builds a spec the server accepts', () => {
    const spec = specFromOptions({ ...base, startAt: '2030-01-07T20:00:00Z', endAt: '2030-01-08T06:00:00Z', maintenance: ['0 22 * * * 2h Asia/Tokyo'], maxPerMinute: '600', ramp: '60,2,notified:100' });
    expect(parseRolloutSpec(spec)).toMatchObject({
      schedule: { startAt: '2030-01-07T20:00:00Z', endAt: '2030-01-08T06:00:00Z', windows: [{ cron: '0 22 * * *', durationMinutes: 120, timeZone: 'Asia/Tokyo' }] },
      rate: { maxPerMinute: 600, exponential: { basePerMinute: 60, incrementFactor: 2, increaseEvery: { notified: 100 } } },
    });
    expect(parseRolloutSpec(specFromOptions({ ...base, maxPerMinute: '600' })).maxNotificationsPerMinute).toBe(600);
  });
});
