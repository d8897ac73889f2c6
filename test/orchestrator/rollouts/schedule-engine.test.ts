// Schedules and rates in the real engine: real Redis, broker, orchestrator and scripted devices
// over MQTT, the engine on this test's clock (moved by hand; the time of day is fixed, so the
// windows do not depend on when the test runs). Short timers come from the engine's options.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { formatWireTime } from '../../../protocol/index.js';
import { scriptedFleet } from '../../support/scripted-device.js';

let stack: LocalStack;
const scripted = scriptedFleet(() => stack);
// 09:00 UTC of the day after today: directives signed on this clock stay valid for the devices
// (whose clock is real), and the daily windows below fall at the same hour on every run.
const DAY = 86_400;
const nine = (Math.floor(Date.now() / 1000 / DAY) + 1) * DAY + 9 * 3600;
let clock = nine;
const wire = (t: number) => formatWireTime(t);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  stack = await startLocalStack({ engine: { tickMs: 100, heldSliceDelayMs: 100, scheduleRecheckMs: 200 }, now: () => clock });
});

afterAll(async () => {
  await scripted.close();
  await stack?.close();
});

describe('rollout schedules', () => {
  it('waits for startAt, then notifies only inside its maintenance window', async () => {
    clock = nine;
    const made = await scripted.add('sched', 6, () => 'succeed', ['g-sched']);
    const releaseId = await scripted.release();
    const created = await stack.createRollout({
      releaseId,
      target: { groups: ['g-sched'] },
      // Starts at 10:00; the window is 11:00-12:00 UTC, said as 20:00 in Tokyo (UTC+9, no DST).
      schedule: { startAt: wire(nine + 3600), windows: [{ cron: '0 20 * * *', durationMinutes: 60, timeZone: 'Asia/Tokyo' }] },
    });
    expect(created.status).toBe('scheduled');
    await sleep(300);
    expect((await stack.rollout(created.id)).status).toBe('scheduled');

    clock = nine + 3600 + 60; // 10:01: started, outside the window
    await stack.waitForRollout(created.id, (v) => v.status === 'running' && v.waves[0]!.status === 'notifying');
    await sleep(400);
    expect(made.every((d) => d.plans.length === 0)).toBe(true);
    expect((await stack.rollout(created.id)).counts).toEqual({ queued: 6 });

    clock = nine + 2 * 3600 + 60; // 11:01: inside the window
    const done = await stack.waitForRollout(created.id, (v) => v.status === 'completed');
    expect(done.counts).toEqual({ succeeded: 6 });
  });

  it('stops notifying at endAt: the rest is canceled (ended) and the rollout completes saying so', async () => {
    clock = nine;
    const made = await scripted.add('ends', 8, () => 'succeed', ['g-ends']);
    const releaseId = await scripted.release();
    // One device a second: the end comes with most of the wave still queued.
    const created = await stack.createRollout({ releaseId, target: { groups: ['g-ends'] }, maxNotificationsPerMinute: 60, schedule: { endAt: wire(nine + 3600) } });
    await expect.poll(() => made.filter((d) => d.plans.length > 0).length, { timeout: 5_000 }).toBeGreaterThanOrEqual(2);
    clock = nine + 3600;
    const done = await stack.waitForRollout(created.id, (v) => v.status === 'completed', 10_000);
    const ended = done.reasons.ended ?? 0;
    expect(ended).toBeGreaterThan(0);
    expect(done.counts).toEqual({ succeeded: 8 - ended, canceled: ended });
    expect(done.statusReason).toBe(`schedule ended at ${wire(nine + 3600)}: ${ended} devices not notified`);
    const installed = made.filter((d) => d.plans.some((p) => p.action === 'install')).length;
    await sleep(1_000);
    expect(made.filter((d) => d.plans.some((p) => p.action === 'install')).length).toBe(installed);
  });

  it('ramps the rate exponentially from its base up to its ceiling', async () => {
    clock = nine;
    const made = await scripted.add('ramp', 24, () => 'succeed', ['g-ramp']);
    const releaseId = await scripted.release();
    const firstSeen = new Map<string, number>();
    const watch = setInterval(() => {
      for (const d of made) if (d.plans.length > 0 && !firstSeen.has(d.id)) firstSeen.set(d.id, Date.now());
    }, 10);
    try {
      // Slices of 4 a second for the first 8, then the rate triples every 8 notified, up to 40 a second.
      await stack.createRollout({ releaseId, target: { groups: ['g-ramp'] }, rate: { maxPerMinute: 2_400, exponential: { basePerMinute: 240, incrementFactor: 3, increaseEvery: { notified: 8 } } } })
        .then((c) => stack.waitForRollout(c.id, (v) => v.status === 'completed', 20_000));
    } finally {
      clearInterval(watch);
    }
    const times = [...firstSeen.values()].sort((a, b) => a - b);
    expect(times).toHaveLength(24);
    // The base rate holds at first (the third slice two seconds after the first; delivery jitter allowed)...
    expect(times[8]! - times[0]!).toBeGreaterThanOrEqual(1_200);
    // ...and the ramp then goes well past it: at 4 a second (jitter allowed: 8) no second could see 12.
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1_000).length));
    expect(busiest).toBeGreaterThanOrEqual(12);
  });
});
