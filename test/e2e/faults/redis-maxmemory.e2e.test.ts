// Fault: Redis at maxmemory (noeviction) for ~15 s in the middle of a rollout, on a private
// redis-server. The intake must hold what it cannot write (no PUBACK, so the broker keeps it),
// answer not ready meanwhile, log the outage once, and resume by itself when memory returns:
// the rollout then completes with exact counts and no report a device sent is lost.
// Also: changing maxmemory-policy under a running orchestrator makes it not ready.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutView } from '../../../orchestrator/rollouts/model.js';
import { orchestratorReady, waitUntil } from '../support/stack-probes.js';
import { expectEntriesMatchDevices, fillToMaxmemory, startRedisFaultStack, type RedisFaultStack } from './redis-fault-stack.js';

const DEVICES = 40;
const OUTAGE_MS = 15_000;
/** Each device downloads this at SLOW_BPS: ~8 s of progress reports, so many land in the outage. */
const PAYLOAD_BYTES = 128 * 1024;
const SLOW_BPS = 16 * 1024;
const JUNK = 'fault-test:junk';

let f: RedisFaultStack;

beforeAll(async () => {
  // The policy re-check runs often here, so the test need not wait the default 10 s.
  f = await startRedisFaultStack({ devices: DEVICES, idPrefix: 'mm-', profiles: 'slow-network', slowBytesPerSecond: SLOW_BPS, orchestratorEnv: { FLEET_REDIS_POLICY_CHECK_MS: '500' } });
}, 90_000);

afterAll(async () => {
  await f?.close();
}, 60_000);

const lines = (output: string, text: string) => output.split('\n').filter((line) => line.includes(text)).length;

describe('Redis at maxmemory mid-rollout', () => {
  it('holds reports unacknowledged, is not ready while it lasts, then completes with exact counts', async () => {
    const { stack, log, devices, redis } = f;
    const everyone = devices.map((d) => d.id);
    const release = await stack.publishRelease({ releaseId: 'mm-rel-1', version: '1.1.0', sequence: 1, payload: new Uint8Array(PAYLOAD_BYTES).fill(7) });
    const rolloutId = 'mm-rollout';
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone }, waves: [{ percent: 100, deviceTimeoutSeconds: 600 }] });
    // Every device notified and downloading: what they report next meets a full Redis.
    await waitUntil(() => log.devicesReporting(rolloutId).length === DEVICES, 60_000, 'every device accepted');

    await fillToMaxmemory(redis, JUNK);
    const filledAt = Date.now();
    const sentBefore = log.countState('succeeded', rolloutId) + log.countState('downloading', rolloutId);
    // Devices keep reporting; the orchestrator cannot store a thing and says so on /v1/readyz.
    let notReady: { status: number; body: unknown } | undefined;
    await waitUntil(async () => {
      const ready = await orchestratorReady(stack);
      // intake_writes may come first; redis_full follows at the next memory check.
      if (ready.status === 503 && JSON.stringify(ready.body).includes('redis_full')) notReady = ready;
      return notReady !== undefined;
    }, OUTAGE_MS, 'readyz to answer 503 while Redis refuses writes', 200);
    // redis_full always (the memory check); intake_writes too when the intake's own write met the
    // refusal first. The broker keeps its sessions in the same Redis, so at maxmemory it may stop
    // handing the intake reports at all: what matters is that nothing is acknowledged and lost.
    expect(notReady!.body).toMatchObject({ code: 'not_ready', message: expect.stringContaining('redis_full') });
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - filledAt))));
    // Reports went out during the outage (so the intake had to hold some).
    expect(log.countState('succeeded', rolloutId) + log.countState('downloading', rolloutId)).toBeGreaterThan(sentBefore);
    expect((await orchestratorReady(stack)).status).toBe(503);

    await redis.admin.del(JUNK);
    await waitUntil(async () => (await orchestratorReady(stack)).status === 200, 30_000, 'readyz 200 again once memory returns', 200);
    const done: RolloutView = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 120_000);
    expect(done.counts).toEqual({ succeeded: DEVICES });
    expect(log.lastStates(rolloutId, everyone)).toEqual({ succeeded: DEVICES });
    await expectEntriesMatchDevices(stack, log, rolloutId, everyone, done);

    // The outage is logged as one episode, not line per retry; no unhandled ioredis errors.
    const output = stack.orchestrator.output();
    const intakeEpisodes = lines(output, 'intake write to Redis failing');
    expect(intakeEpisodes).toBeLessThanOrEqual(1);
    expect(lines(output, 'intake write to Redis recovered')).toBe(intakeEpisodes);
    expect(lines(output, 'Redis memory check failing')).toBe(1);
    expect(lines(output, 'Redis memory check recovered')).toBe(1);
    expect(output).not.toContain('Unhandled error event');
    expect(lines(output, 'worker error')).toBe(0);
  }, 240_000);

  it('is not ready while Redis\' maxmemory-policy is changed away from noeviction under it', async () => {
    const { stack, redis } = f;
    expect((await orchestratorReady(stack)).status).toBe(200);
    await redis.admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    try {
      await waitUntil(async () => (await orchestratorReady(stack)).status === 503, 15_000, 'readyz 503 under an evicting policy', 100);
      expect((await orchestratorReady(stack)).body).toMatchObject({ code: 'not_ready', message: expect.stringContaining('redis_eviction_policy') });
    } finally {
      await redis.admin.config('SET', 'maxmemory-policy', 'noeviction');
    }
    await waitUntil(async () => (await orchestratorReady(stack)).status === 200, 15_000, 'readyz 200 once noeviction is back', 100);
  }, 60_000);
});
