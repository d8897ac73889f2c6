// The broker's wills per run (broker/persistence/node-wills.ts over state/mqtt-wills) on a real
// Redis: a sweep sees every will (more than aedes-persistence-redis' 10,000), two nodes sweeping
// at once publish each orphan exactly once, a will a newer connection overrode is never
// published, a run only deletes its own will, and a lapsed lease is reported.
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeWills, type WillPublisher } from '../../../broker/persistence/node-wills.js';
import { WillStore, type StoredWill } from '../../../state/mqtt-wills/index.js';
import { createRedis, deleteKeysWithPrefix } from '../../../state/redis.js';

const redis = createRedis();
const prefix = `test:node-wills:${randomBytes(4).toString('hex')}:`;
const namespace = `${prefix}mqtt:`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const nodes: NodeWills[] = [];

afterAll(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

function node(leaseMs = 60_000): NodeWills {
  const wills = new NodeWills(redis, namespace, { leaseMs, sweepPageSize: 500, onError: (error) => { throw error; } });
  nodes.push(wills);
  return wills;
}

function recorder(): WillPublisher & { published: StoredWill[]; reconnects: string[]; lapses: number } {
  const out = {
    published: [] as StoredWill[],
    reconnects: [] as string[],
    lapses: 0,
    publish: async (will: StoredWill) => void out.published.push(will),
    reconnected: async (clientId: string) => void out.reconnects.push(clientId),
    leaseLapsed: async () => void out.lapses++,
  };
  return out;
}

const offline = { topic: 'fleet/v1/x/presence', payload: Buffer.from('offline'), qos: 1 as const, retain: true };

describe('wills per broker run', () => {
  it('publishes every will of a dead run once across two sweeping nodes, and none a newer connection overrode', async () => {
    const store = new WillStore(redis, namespace);
    const dead = 'dead0run0000000000000000';
    const ORPHANS = 12_000;
    await store.heartbeat(dead, 1);
    for (let i = 0; i < ORPHANS; i += 1_000) {
      await Promise.all(Array.from({ length: 1_000 }, (_, j) => store.put(dead, `d-${i + j}`, { ...offline, topic: `fleet/v1/d-${i + j}/presence` })));
    }
    const [a, b] = [node(), node()];
    await Promise.all([a.start(), b.start()]);
    // 50 of the dead run's devices reconnected to node a: their wills are a's now.
    for (let i = 0; i < 50; i++) await a.put(`d-${i}`, { ...offline, topic: `fleet/v1/d-${i}/presence` });
    await sleep(5);
    const [ra, rb] = [recorder(), recorder()];
    const [na, nb] = await Promise.all([a.sweep(ra), b.sweep(rb)]);
    expect(na + nb).toBe(ORPHANS - 50);
    const ids = [...ra.published, ...rb.published].map((w) => w.clientId);
    expect(new Set(ids).size).toBe(ORPHANS - 50);
    expect(ids.some((id) => ['d-0', 'd-49'].includes(id))).toBe(false);
    expect(ra.published[0]).toMatchObject({ run: dead, qos: 1, retain: true, payload: Buffer.from('offline') });
    expect(await store.size()).toBe(50);
    expect(await store.deadRuns()).toEqual([]);
    // Nothing is dead any more: the next sweep reads no will at all.
    expect(await a.sweep(recorder())).toBe(0);
  });

  it('deletes only its own run\'s will: a newer connection\'s elsewhere stays', async () => {
    const store = new WillStore(redis, namespace);
    const [a, b] = [node(), node()];
    await Promise.all([a.start(), b.start()]);
    await a.put('mover', offline);
    await b.put('mover', offline);
    const persistenceA: Record<'putWill' | 'getWill' | 'delWill', (client: { id: string }) => Promise<unknown>> & { streamWill(): AsyncIterable<unknown> } = {
      putWill: async () => undefined,
      getWill: async () => null,
      delWill: async () => null,
      streamWill: async function* () {},
    };
    a.install(persistenceA);
    expect(await persistenceA.delWill({ id: 'mover' })).toBeNull();
    expect(await store.currentRun('mover')).toBe(b.run);
    // Aedes' own sweep gets nothing to publish.
    const streamed: unknown[] = [];
    for await (const will of persistenceA.streamWill()) streamed.push(will);
    expect(streamed).toEqual([]);
  });

  it('says `online` again for a device that reconnected while its orphaned will was going out', async () => {
    const store = new WillStore(redis, namespace);
    const dead = 'dead1run0000000000000000';
    await store.heartbeat(dead, 1);
    await store.put(dead, 'racer', offline);
    await store.put(dead, 'gone', offline);
    const live = node();
    await live.start();
    await sleep(5);
    const seen = recorder();
    // The device reconnects (to a live run) right as its `offline` is being published.
    seen.publish = async (will) => {
      seen.published.push(will);
      if (will.clientId === 'racer') await live.put('racer', offline);
    };
    expect(await live.sweep(seen)).toBe(2);
    expect(seen.reconnects).toEqual(['racer']);
  });

  it('reports a lease that lapsed while the node was cut off from Redis', async () => {
    const store = new WillStore(redis, namespace);
    const lapsing = node(150);
    const seen = recorder();
    await lapsing.start();
    lapsing.sweepPeriodically(seen);
    expect(await store.liveRuns()).toContain(lapsing.run);
    // Renewed every 50 ms: still held after three leases.
    await sleep(450);
    expect(seen.lapses).toBe(0);
    // As if Redis had been away longer than the lease: the run's score is in the past.
    await store.expire(lapsing.run);
    await waitFor(() => seen.lapses > 0, 2_000);
    expect(await store.liveRuns()).toContain(lapsing.run);
  });
});

async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}
