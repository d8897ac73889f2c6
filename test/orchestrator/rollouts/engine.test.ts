// The rollout engine end to end in one process: real Redis, the real broker, the real
// orchestrator (HTTP API, BullMQ engine, ingestion), and scripted devices over real MQTT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { scriptedFleet } from '../../support/scripted-device.js';

let stack: LocalStack;
const scripted = scriptedFleet(() => stack);
const fleet = scripted.add;
const release = scripted.release;

beforeAll(async () => {
  stack = await startLocalStack({ engine: { tickMs: 100 } });
});

afterAll(async () => {
  await scripted.close();
  await stack?.close();
});

describe('rollout engine', () => {
  it('takes a 3-wave rollout to 100 devices with exact counts, one directive each', async () => {
    const group = 'g-three-waves';
    const made = await fleet('three', 100, () => 'succeed', [group]);
    const releaseId = await release();
    const created = await stack.createRollout({ releaseId, target: { groups: [group] }, waves: [{ percent: 1 }, { percent: 10 }, { percent: 100 }] });
    expect(created.waves.map((w) => w.size)).toEqual([1, 9, 90]);
    const done = await stack.waitForRollout(created.id, (v) => v.status === 'completed');
    expect(done.counts).toEqual({ succeeded: 100 });
    expect(done.waves.map((w) => w.counts.succeeded)).toEqual([1, 9, 90]);
    for (const device of made) {
      expect(new Set(device.plans.map((p) => p.directive.counter)).size).toBe(1);
      expect(device.plans[0]!.directive.rolloutId).toBe(created.id);
    }
  });

  it('pauses when wave 0 crosses its failure threshold, before wave 1 is notified; resume finishes', async () => {
    const group = 'g-threshold';
    const made = await fleet('thresh', 20, (i) => (i < 10 ? { fail: 'install_failed' } : 'succeed'), [group]);
    const releaseId = await release();
    // Canary wave of 4 devices that all fail; the rest are healthy.
    const canaries = made.slice(0, 4).map((d) => d.id);
    const created = await stack.createRollout({
      releaseId,
      target: { groups: [group] },
      waves: [{ deviceIds: canaries, failureThreshold: 0.25 }, { percent: 100, failureThreshold: 0.9, successThreshold: 0.5 }],
    });
    const paused = await stack.waitForRollout(created.id, (v) => v.status === 'paused');
    expect(paused.statusReason).toMatch(/failure threshold/);
    expect(paused.currentWave).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const wave1 = made.filter((d) => !canaries.includes(d.id));
    expect(wave1.every((d) => d.plans.length === 0)).toBe(true);
    expect((await stack.rollout(created.id)).waves[1]!.counts).toEqual({ queued: 16 });

    await stack.api('POST', `/v1/rollouts/${created.id}/resume`, {});
    const done = await stack.waitForRollout(created.id, (v) => v.status === 'completed');
    expect(done.counts).toEqual({ failed: 10, succeeded: 10 });
    expect(done.reasons).toEqual({ install_failed: 10 });
  });

  it('waits for approval under manual promotion, and abort cancels what is pending', async () => {
    const group = 'g-manual';
    const made = await fleet('manual', 12, (i) => (i % 2 === 0 ? 'silent' : 'succeed'), [group]);
    const releaseId = await release();
    const first = made.filter((_, i) => i % 2 === 1).slice(0, 2).map((d) => d.id);
    const created = await stack.createRollout({
      releaseId,
      target: { groups: [group] },
      waves: [{ deviceIds: first, promotion: 'manual' }, { count: 4, promotion: 'manual', successThreshold: 1 }, { percent: 100 }],
    });
    const waiting = await stack.waitForRollout(created.id, (v) => v.waves[0]!.status === 'awaiting_approval');
    expect(waiting.waves[1]!.status).toBe('pending');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await stack.rollout(created.id)).waves[1]!.status).toBe('pending');

    await stack.api('POST', `/v1/rollouts/${created.id}/approve`); // no body at all
    await stack.waitForRollout(created.id, (v) => v.currentWave === 1 && v.waves[1]!.status !== 'pending');
    const aborted = await stack.api<{ status: string; counts: Record<string, number> }>('POST', `/v1/rollouts/${created.id}/abort`, { reason: 'test abort' });
    expect(aborted.status).toBe('aborted');
    const view = await stack.rollout(created.id);
    expect(view.waves[2]!.counts).toEqual({ canceled: view.waves[2]!.size });
    expect(view.counts.queued ?? 0).toBe(0);
    // Silent devices of wave 1 were notified and get a signed cancel with a higher counter.
    const silentInWave1 = made.filter((d) => d.script === 'silent' && d.plans.length > 0);
    await expect.poll(() => silentInWave1.every((d) => d.plans.at(-1)?.action === 'cancel'), { timeout: 5_000 }).toBe(true);
    for (const d of silentInWave1) expect(d.plans.at(-1)!.directive.counter).toBeGreaterThan(d.plans[0]!.directive.counter);
  });

  it('respects the notification cap', async () => {
    const group = 'g-cap';
    const made = await fleet('cap', 30, () => 'succeed', [group]);
    const releaseId = await release();
    const started = Date.now();
    const created = await stack.createRollout({ releaseId, target: { groups: [group] }, maxNotificationsPerMinute: 600 });
    await expect.poll(() => made.filter((d) => d.plans.length > 0).length, { timeout: 2_000 }).toBeGreaterThan(0);
    const afterOneSecond = await new Promise<number>((resolve) => setTimeout(() => resolve(made.filter((d) => d.plans.length > 0).length), Math.max(0, started + 1_000 - Date.now())));
    // 600/min is 10 a second: slices of 10, one per second.
    expect(afterOneSecond).toBeLessThanOrEqual(20);
    const done = await stack.waitForRollout(created.id, (v) => v.status === 'completed', 20_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(done.counts).toEqual({ succeeded: 30 });
  });

  it('holds the notification cap when delayed slices all come due at once (Redis or the workers away)', async () => {
    const group = 'g-cap-backlog';
    const made = await fleet('backlog', 60, () => 'succeed', [group]);
    const releaseId = await release();
    // No worker takes a notify job while the queue is paused, as when Redis was down: every
    // slice's delay runs out, so all six slices of 10 are due the moment it comes back.
    const queue = stack.orchestrator.engine.notifyQueue;
    await queue.pause();
    const created = await stack.createRollout({ releaseId, target: { groups: [group] }, maxNotificationsPerMinute: 600 });
    await new Promise((resolve) => setTimeout(resolve, 6_500));
    expect(made.every((d) => d.plans.length === 0)).toBe(true);
    const firstSeen = new Map<string, number>();
    const watch = setInterval(() => {
      for (const d of made) if (d.plans.length > 0 && !firstSeen.has(d.id)) firstSeen.set(d.id, Date.now());
    }, 20);
    try {
      await queue.resume();
      await stack.waitForRollout(created.id, (v) => v.status === 'completed', 30_000);
    } finally {
      clearInterval(watch);
    }
    // 600/min is one slice of 10 a second: no second may see the backlog (60) released at once.
    // The bound leaves room for delivery jitter (three slices), far below the backlog.
    const times = [...firstSeen.values()].sort((a, b) => a - b);
    expect(times).toHaveLength(60);
    const busiest = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1_000).length));
    expect(busiest).toBeLessThanOrEqual(30);
  });

  it('times out devices that never finish and counts them', async () => {
    const group = 'g-timeout';
    await fleet('timeout', 6, (i) => (i < 2 ? 'silent' : 'succeed'), [group]);
    const releaseId = await release();
    const created = await stack.createRollout({ releaseId, target: { groups: [group] }, waves: [{ percent: 100, deviceTimeoutSeconds: 2, failureThreshold: 0.5, successThreshold: 0.5 }] });
    const done = await stack.waitForRollout(created.id, (v) => v.status === 'completed', 15_000);
    expect(done.counts).toEqual({ succeeded: 4, timed_out: 2 });
  });
});
