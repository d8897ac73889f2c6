// Fault: the private redis-server (appendonly yes, appendfsync always) is SIGKILLed in the middle
// of a rollout and started again on the same port a few seconds later. Every connection of the
// broker and the orchestrator reconnects by itself; reports sent meanwhile are held
// unacknowledged and written once Redis is back: the rollout completes with exact counts, each
// device's entry is what it last reported, and the outage is logged as structured lines.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { orchestratorReady, waitUntil } from '../support/stack-probes.js';
import { expectEntriesMatchDevices, startRedisFaultStack, type RedisFaultStack } from './redis-fault-stack.js';

const DEVICES = 40;
const DOWN_MS = 4_000;
const PAYLOAD_BYTES = 128 * 1024;
const SLOW_BPS = 16 * 1024;

let f: RedisFaultStack;

beforeAll(async () => {
  f = await startRedisFaultStack({ devices: DEVICES, idPrefix: 'rr-', profiles: 'slow-network', slowBytesPerSecond: SLOW_BPS, redisArgs: ['--appendonly', 'yes', '--appendfsync', 'always'] });
}, 90_000);

afterAll(async () => {
  await f?.close();
}, 60_000);

describe('Redis restarted (AOF) mid-rollout', () => {
  it('completes with exact counts and no report lost', async () => {
    const { stack, log, devices, redis } = f;
    const everyone = devices.map((d) => d.id);
    const release = await stack.publishRelease({ releaseId: 'rr-rel-1', version: '1.1.0', sequence: 1, payload: new Uint8Array(PAYLOAD_BYTES).fill(3) });
    const rolloutId = 'rr-rollout';
    // Two waves: the second is notified after the restart, from state that survived it.
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone }, waves: [{ percent: 50, deviceTimeoutSeconds: 600 }, { percent: 100, deviceTimeoutSeconds: 600 }] });
    await waitUntil(() => log.devicesReporting(rolloutId).length === DEVICES / 2, 60_000, 'wave 0 accepted');
    const before = log.countState('downloading', rolloutId);

    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, DOWN_MS));
    // Devices reported while Redis was gone (their downloads come from the orchestrator's memory).
    expect(log.countState('downloading', rolloutId)).toBeGreaterThan(before);
    expect((await orchestratorReady(stack)).status).toBe(503);
    await redis.start();

    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 150_000);
    expect(done.counts).toEqual({ succeeded: DEVICES });
    expect(done.waves.map((w) => w.counts)).toEqual([{ succeeded: DEVICES / 2 }, { succeeded: DEVICES / 2 }]);
    expect(log.lastStates(rolloutId, everyone)).toEqual({ succeeded: DEVICES });
    await expectEntriesMatchDevices(stack, log, rolloutId, everyone, done);
    await waitUntil(async () => (await orchestratorReady(stack)).status === 200, 30_000, 'readyz 200 after the restart', 200);

    // The outage shows as structured lines, not ioredis' unhandled-error stacks.
    const output = stack.orchestrator.output() + stack.broker.output();
    expect(output).not.toContain('Unhandled error event');
    expect(stack.orchestrator.output()).toContain('Redis connection failing');
  }, 240_000);
});
