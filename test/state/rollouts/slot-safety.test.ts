// Every rollout script touches one Redis Cluster slot. A private redis-server in cluster mode
// serving all 16384 slots refuses, for our "#!lua" scripts, any key access outside the slot of
// the declared keys (and any declared keys of two slots), so running every rollout operation
// there proves it. Device keys carry their shard tag (`{dev:<shard>}:device:<id>[:history]`,
// state/registry/device-keys.ts).
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../support/private-redis.js';

const { RolloutState } = await import('../../../state/rollouts/rollout-state.js');
const { deviceRolloutKeys } = await import('../../../state/rollouts/keys.js');
const { readDeviceHistory } = await import('../../../state/rollouts/device-history.js');

let server: PrivateRedis;
let redis: Redis;
const prefix = 'slots:';
const ids = Array.from({ length: 40 }, (_, i) => `dev-${i}`);

function report(deviceId: string, rolloutId: string, counter: number, seq: number, state: string) {
  return { deviceId, rolloutId, counter, seq, state, progress: 0, reason: '', at: '2030-01-01T00:00:00Z', installedReleaseId: 'factory', installedSequence: 0, rootVersion: 1 };
}

beforeAll(async () => {
  server = await startPrivateRedis({ args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'] });
  redis = server.admin;
  await redis.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
  const deadline = Date.now() + 10_000;
  while (!String(await redis.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
    if (Date.now() > deadline) throw new Error('the one-node cluster did not become ok');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe('rollout scripts on a Redis Cluster node', () => {
  it('run every operation with the keys of one slot per script', async () => {
    const state = new RolloutState(redis, prefix);
    // The device steps group devices by shard: these 40 ids span several shards.
    expect(new Set(ids.map((id) => deviceRolloutKeys(prefix, id).record.match(/\{(.*?)\}/)![1])).size).toBeGreaterThan(4);
    const older = await state.create({ id: 'ro-old', releaseId: 'r1', manifestSha256: 'aa', status: 'running', spec: {}, at: '2030-01-01T00:00:00Z', waves: [ids.slice(0, 20), ids.slice(20)] });
    expect(older?.total).toBe(40);
    expect(await state.casWave('ro-old', 0, 'pending', 'notifying', 'notifyStartedAt', 1)).toBe(true);
    const prepared = await state.prepareSlice(older!, ids.slice(0, 20), 1_000);
    expect(prepared.every((p) => p.counter === 1 && p.issuedAt === 1_000)).toBe(true);
    // A retried slice gets the same counters and issue times.
    expect(await state.prepareSlice(older!, ids.slice(0, 20), 2_000)).toEqual(prepared);
    expect(await state.markNotified('ro-old', 0, 0, 1, 1_001, ids.slice(0, 20))).toBe(true);

    const results = await state.applyStatusReports([report('dev-0', 'ro-old', 1, 1, 'accepted'), report('dev-1', 'ro-old', 1, 1, 'succeeded'), report('dev-0', 'ro-old', 1, 1, 'accepted')]);
    expect(results.map((r) => r.outcome)).toEqual(['applied', 'applied', 'stale']);
    expect((await state.waveCounts('ro-old', 0)).counts).toEqual({ notified: 18, accepted: 1, succeeded: 1 });

    expect(await state.reissue('ro-old', 1_500, [{ deviceId: 'dev-2', counter: 1 }])).toEqual([2]);
    expect(await state.cancelCounters('ro-old', ['dev-3'])).toEqual([2]);
    expect(await state.pace('ro-old', 1_000, 1_000)).toBe(0);

    // A newer rollout on the same devices supersedes the older one's unsettled entries.
    const newer = await state.create({ id: 'ro-new', releaseId: 'r2', manifestSha256: 'bb', status: 'running', spec: {}, at: '2030-01-01T00:00:00Z', waves: [ids.slice(0, 10)] });
    const claimed = await state.prepareSlice(newer!, ids.slice(0, 10), 3_000);
    // Counters keep increasing per device across rollouts (dev-2 was reissued, dev-3 canceled).
    expect(claimed.map((p) => p.counter)).toEqual([2, 2, 3, 3, 2, 2, 2, 2, 2, 2]);
    const old = (await state.waveCounts('ro-old', 0)).counts;
    expect(old).toEqual({ canceled: 9, notified: 10, succeeded: 1 });

    expect((await state.settleWave('ro-old', 0, 'timed_out')).length).toBe(10);
    expect(await state.setStatus('ro-old', ['running'], 'aborted', 'test', '2030-01-01T00:00:01Z')).toBe(true);
    await state.flushHistory('ro-old');
    const history = await readDeviceHistory(redis, prefix, 'dev-4');
    expect(history.map((h) => `${h.rolloutId}:${h.from}>${h.state}`)).toEqual(['ro-old:notified>canceled', 'ro-old:queued>notified']);
    // Dynamic rollouts: devices join the last wave once, and not after the rollout closed.
    const dynamic = await state.create({ id: 'ro-dyn', releaseId: 'r3', manifestSha256: 'cc', status: 'running', spec: {}, at: '2030-01-01T00:00:00Z', waves: [ids.slice(30, 31), []], joinCursor: 5 });
    expect(dynamic?.total).toBe(1);
    expect(await state.joinCursor('ro-dyn')).toBe(5);
    expect(await state.joinWave('ro-dyn', 1, 7, ['dev-30', 'dev-31', 'dev-32', 'dev-31'])).toEqual({ closed: false, waveStatus: 'pending', joined: ['dev-31', 'dev-32'] });
    expect(await state.joinCursor('ro-dyn')).toBe(7);
    expect(await state.joinWave('ro-dyn', 1, 6, ['dev-32'])).toEqual({ closed: false, waveStatus: 'pending', joined: [] });
    expect(await state.joinCursor('ro-dyn')).toBe(7);
    expect((await state.get('ro-dyn'))?.total).toBe(3);
    expect({ size: (await state.getWave('ro-dyn', 1)).size, ...(await state.waveCounts('ro-dyn', 1)) }).toEqual({ size: 2, counts: { queued: 2 }, reasons: {} });
    expect(await state.waveMembers('ro-dyn', 1, 0, 10)).toEqual(['dev-31', 'dev-32']);
    expect(await state.setStatus('ro-dyn', ['running'], 'completed', '', '2030-01-01T00:00:02Z')).toBe(true);
    expect(await state.joinWave('ro-dyn', 1, 8, ['dev-33'])).toEqual({ closed: true });

    await state.remove('ro-old');
    await state.remove('ro-new');
    await state.remove('ro-dyn');
  }, 60_000);
});
