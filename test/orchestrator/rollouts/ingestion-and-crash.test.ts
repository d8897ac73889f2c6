// Status ingestion refuses what must change nothing, and the engine survives restarts and
// concurrency: real Redis, the real broker and orchestrators, scripted devices over MQTT.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signingKeyFromSeed } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { ingestStatsKey } from '../../../orchestrator/ingestion/consumer.js';
import { scriptedDevice, scriptedFleet } from '../../support/scripted-device.js';

let stack: LocalStack;
const scripted = scriptedFleet(() => stack);
const { devices } = scripted;
const fleet = scripted.add;
const release = scripted.release;

async function outcomes(): Promise<Record<string, number>> {
  return Object.fromEntries(Object.entries(await stack.redis.hgetall(ingestStatsKey(stack.prefix))).map(([k, v]) => [k, Number(v)]));
}

beforeAll(async () => {
  stack = await startLocalStack({ engine: { tickMs: 100 } });
});

afterAll(async () => {
  await scripted.close();
  await stack?.close();
});

describe('status ingestion', () => {
  it('applies each report once, in order; duplicate, replayed, backwards and forged reports change nothing', async () => {
    const [device] = await fleet('ingest', 1, () => 'silent', ['g-ingest']);
    const releaseId = await release();
    const created = await stack.createRollout({ releaseId, target: { groups: ['g-ingest'] } });
    await expect.poll(() => device!.plans.length, { timeout: 5_000 }).toBe(1);
    const d = device!.plans[0]!.directive;
    const at = (state: string) => stack.waitForRollout(created.id, (v) => (v.counts as Record<string, number>)[state] === 1, 5_000);

    await device!.report(d, 'accepted', { seq: 1 });
    await device!.report(d, 'downloading', { seq: 2, progress: 40 });
    await at('downloading');
    const before = await outcomes();

    await device!.report(d, 'downloading', { seq: 2, progress: 90 }); // duplicate seq
    await device!.report(d, 'accepted', { seq: 3 }); // backwards
    await device!.report(d, 'downloading', { seq: 4, progress: 30 }); // less progress
    await device!.report(d, 'succeeded', { seq: 5, signWith: signingKeyFromSeed(new Uint8Array(32).fill(7), nodeEd25519) }); // forged
    await device!.report({ rolloutId: d.rolloutId, counter: d.counter - 1 }, 'succeeded', { seq: 6 }); // another directive's counter
    await expect.poll(async () => {
      const now = await outcomes();
      return ['stale', 'backwards', 'bad_signature', 'other_directive'].map((k) => (now[k] ?? 0) - (before[k] ?? 0));
    }, { timeout: 5_000 }).toEqual([1, 2, 1, 1]);
    let view = await stack.rollout(created.id);
    expect(view.counts).toEqual({ downloading: 1 });

    await device!.report(d, 'verifying', { seq: 7 });
    await device!.report(d, 'succeeded', { seq: 8 });
    view = await stack.waitForRollout(created.id, (v) => v.status === 'completed');
    expect(view.counts).toEqual({ succeeded: 1 });
    await device!.report(d, 'failed', { seq: 9, reason: 'install_failed' }); // after terminal
    await expect.poll(async () => ((await outcomes()).after_terminal ?? 0) - (before.after_terminal ?? 0), { timeout: 5_000 }).toBe(1);
    expect((await stack.rollout(created.id)).counts).toEqual({ succeeded: 1 });
  });
});

describe('crash safety and concurrency', () => {
  it('notifies every device exactly once with two engines sharing the queues', async () => {
    await stack.spawnOrchestrator();
    const made = await fleet('twin', 60, () => 'succeed', ['g-twin']);
    const releaseId = await release();
    const created = await stack.createRollout({ releaseId, target: { groups: ['g-twin'] }, waves: [{ percent: 10 }, { percent: 100 }] });
    const done = await stack.waitForRollout(created.id, (v) => v.status === 'completed', 30_000);
    expect(done.counts).toEqual({ succeeded: 60 });
    // One directive per device: every delivery a device saw carries the same counter.
    for (const device of made) expect(new Set(device.plans.map((p) => p.directive.counter))).toHaveLength(1);
  });

  it('finishes with exact counts when the orchestrator dies mid-wave and another takes over', async () => {
    const own = await startLocalStack({ engine: { tickMs: 100 } });
    try {
      const made = Array.from({ length: 40 }, (_, i) => scriptedDevice(`crash-${i}`, own.root.signed, 'succeed'));
      await own.registerDevices(made.map((d) => ({ id: d.id, publicKey: d.publicKey })));
      await Promise.all(made.map((d) => d.connect(own.brokerUrl)));
      devices.push(...made);
      const { releaseId } = await own.publishRelease({ releaseId: 'crash-rel', version: '2.0.0', sequence: 1 });
      // Capped so the wave is still notifying when the first orchestrator goes away.
      const created = await own.createRollout({ releaseId, target: { all: true }, maxNotificationsPerMinute: 600 });
      await expect.poll(() => made.filter((d) => d.plans.length > 0).length, { timeout: 5_000 }).toBeGreaterThan(0);
      await own.orchestrator.close();
      expect(made.some((d) => d.plans.length === 0)).toBe(true);
      // Another orchestrator: the broker wrote every report to the intake shards meanwhile.
      const survivor = await own.spawnOrchestrator();
      const view = async () => survivor.store.view(created.id);
      await expect.poll(async () => (await view()).status, { timeout: 30_000, interval: 200 }).toBe('completed');
      expect((await view()).counts).toEqual({ succeeded: 40 });
      for (const device of made) expect(new Set(device.plans.map((p) => p.directive.counter))).toHaveLength(1);
    } finally {
      await own.close();
    }
  }, 60_000);
});
