// Per-topic authorization over real MQTT: what a device, the orchestrator and a dashboard may
// subscribe to, publish and receive; $SYS (aedes #597); presence and last wills.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PRESENCE_TOPICS, ALL_STATUS_TOPICS, directiveTopic, presenceTopic, statusTopic } from '../../protocol/index.js';
import type { RunningBroker } from '../../broker/index.js';
import {
  REDIS_URL, closedPromise, collect, connectDevice, connectService, deleteByPrefix, endAll, provisionDevice, sleep,
  startTestBroker, testPrefix, uniqueId, waitFor, type TestDevice,
} from './helpers.js';

let redis: Redis;
let prefix: string;
let broker: RunningBroker;
let alice: TestDevice;
let bob: TestDevice;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('acl');
  broker = await startTestBroker(prefix);
  alice = await provisionDevice(redis, prefix, uniqueId('alice'));
  bob = await provisionDevice(redis, prefix, uniqueId('bob'));
});

afterAll(async () => {
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

async function subscribeCode(client: Awaited<ReturnType<typeof connectDevice>>, topic: string): Promise<number> {
  try {
    const granted = await client.subscribeAsync(topic, { qos: 1 });
    return granted[0]!.qos;
  } catch (error) {
    // MQTT.js rejects with the SUBACK packet attached; 0x80 is the refusal ([MQTT-3.9.3]).
    return (error as { packet?: { granted?: number[] } }).packet?.granted?.[0] ?? -1;
  }
}

describe('device subscriptions', () => {
  it('may subscribe to its own directive topic only: another device, #, wildcards and $SYS are refused (SUBACK 0x80)', async () => {
    const device = await connectDevice(broker.url, alice);
    expect(await subscribeCode(device, directiveTopic(alice.id))).toBe(1);
    for (const topic of [directiveTopic(bob.id), '#', ALL_STATUS_TOPICS, 'fleet/v1/+/directive', '$SYS/#', statusTopic(alice.id), 'fleet/#']) {
      expect(await subscribeCode(device, topic), topic).toBe(128);
    }
    expect(device.connected).toBe(true);
    expect(broker.refusals().subscribe_denied).toBeGreaterThanOrEqual(7);
    await endAll(device);
  });
});

describe('device publishes', () => {
  it('publishes its own status and presence; a directive, another device\'s status and retained status are dropped', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync([ALL_STATUS_TOPICS, ALL_PRESENCE_TOPICS], { qos: 1 });
    const victim = await connectDevice(broker.url, bob);
    const victimInbox = collect(victim);
    await victim.subscribeAsync(directiveTopic(bob.id), { qos: 1 });

    const device = await connectDevice(broker.url, alice);
    const before = broker.refusals();
    await device.publishAsync(directiveTopic(bob.id), 'forged directive', { qos: 1 });
    await device.publishAsync(directiveTopic(alice.id), 'self directive', { qos: 1 });
    await device.publishAsync(statusTopic(bob.id), 'forged status', { qos: 1 });
    await device.publishAsync(statusTopic(alice.id), 'retained status', { qos: 1, retain: true });
    await device.publishAsync(presenceTopic(alice.id), 'hello', { qos: 1, retain: true });
    await device.publishAsync(statusTopic(alice.id), 'real status', { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload === 'real status'), 5000, 'real status');
    await sleep(100);
    expect(device.connected).toBe(true);
    expect(seen.map((m) => m.payload)).not.toContain('forged status');
    expect(seen.map((m) => m.payload)).not.toContain('retained status');
    expect(seen.map((m) => m.payload)).not.toContain('hello');
    expect(victimInbox.map((m) => m.payload)).toEqual([]);
    const after = broker.refusals();
    expect((after.publish_denied ?? 0) - (before.publish_denied ?? 0)).toBe(3);
    expect((after.retain_denied ?? 0) - (before.retain_denied ?? 0)).toBe(1);
    expect((after.presence_payload ?? 0) - (before.presence_payload ?? 0)).toBe(1);

    // Nothing of the retained status was stored: a new subscriber gets no retained status.
    const late = await connectService(broker.url, 'dashboard');
    const lateSeen = collect(late);
    await late.subscribeAsync(statusTopic(alice.id), { qos: 1 });
    await sleep(150);
    expect(lateSeen).toEqual([]);
    await endAll(device, victim, orchestrator, late);
  });

  it('a publish to $SYS closes the connection (aedes #597) and kicks nobody', async () => {
    const victim = await connectDevice(broker.url, bob);
    const device = await connectDevice(broker.url, alice);
    const closed = closedPromise(device);
    device.publish(`$SYS/${'x'}/new/clients`, bob.id, { qos: 0 });
    await closed;
    device.end(true);
    await sleep(100);
    expect(victim.connected).toBe(true);
    expect(broker.refusals().sys_publish).toBeGreaterThanOrEqual(1);
    await endAll(victim);
  });
});

describe('service accounts', () => {
  it('the orchestrator publishes retained directives any device gets on subscribe, and reads status via wildcards', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    await orchestrator.publishAsync(directiveTopic(alice.id), 'desired-state', { qos: 1, retain: true });
    const device = await connectDevice(broker.url, alice);
    const inbox = collect(device);
    await device.subscribeAsync(directiveTopic(alice.id), { qos: 1 });
    await waitFor(() => inbox.some((m) => m.payload === 'desired-state' && m.retain), 5000, 'retained directive');
    // It may not publish status or presence, or subscribe to directives or #.
    expect(await subscribeCode(orchestrator, '#')).toBe(128);
    expect(await subscribeCode(orchestrator, 'fleet/v1/+/directive')).toBe(128);
    expect(await subscribeCode(orchestrator, '$share/workers/fleet/v1/+/directive')).toBe(128);
    expect(await subscribeCode(orchestrator, statusTopic(alice.id))).toBe(1);
    // Clear the retained directive (empty payload) so later tests start clean.
    await orchestrator.publishAsync(directiveTopic(alice.id), '', { qos: 1, retain: true });
    await endAll(device, orchestrator);
  });

  it('a dashboard may subscribe to status and presence but publishes nothing', async () => {
    const dashboard = await connectService(broker.url, 'dashboard');
    const device = await connectDevice(broker.url, bob);
    const inbox = collect(device);
    await device.subscribeAsync(directiveTopic(bob.id), { qos: 1 });
    expect(await subscribeCode(dashboard, ALL_STATUS_TOPICS)).toBe(1);
    expect(await subscribeCode(dashboard, ALL_PRESENCE_TOPICS)).toBe(1);
    const before = broker.refusals().publish_denied ?? 0;
    await dashboard.publishAsync(directiveTopic(bob.id), 'from dashboard', { qos: 1 });
    await sleep(150);
    expect(inbox).toEqual([]);
    expect((broker.refusals().publish_denied ?? 0) - before).toBe(1);
    await endAll(device, dashboard);
  });

  it('shared subscriptions split the status stream between orchestrator workers', async () => {
    const workers = await Promise.all([connectService(broker.url, 'orchestrator'), connectService(broker.url, 'orchestrator')]);
    const inboxes = workers.map((worker) => collect(worker));
    for (const worker of workers) await worker.subscribeAsync(`$share/ingest/${ALL_STATUS_TOPICS}`, { qos: 1 });
    const device = await connectDevice(broker.url, alice);
    for (let i = 0; i < 10; i++) await device.publishAsync(statusTopic(alice.id), `report-${i}`, { qos: 1 });
    await waitFor(() => inboxes[0]!.length + inboxes[1]!.length >= 10, 5000, 'ten reports');
    await sleep(100);
    const all = [...inboxes[0]!, ...inboxes[1]!].map((m) => m.payload).sort();
    expect(all).toEqual(Array.from({ length: 10 }, (_, i) => `report-${i}`).sort());
    expect(inboxes[0]!.length).toBeGreaterThan(0);
    expect(inboxes[1]!.length).toBeGreaterThan(0);
    // After one worker unsubscribes, the other gets everything.
    await workers[0]!.unsubscribeAsync(`$share/ingest/${ALL_STATUS_TOPICS}`);
    const before = inboxes[1]!.length;
    for (let i = 0; i < 4; i++) await device.publishAsync(statusTopic(alice.id), `later-${i}`, { qos: 1 });
    await waitFor(() => inboxes[1]!.length - before >= 4, 5000, 'remaining worker gets all');
    await endAll(device, ...workers);
  });
});

describe('presence', () => {
  it('goes offline (retained) when a device dies uncleanly, with or without a will of its own', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(ALL_PRESENCE_TOPICS, { qos: 1 });
    const withWill = await connectDevice(broker.url, alice, { will: { topic: presenceTopic(alice.id), payload: Buffer.from('offline'), qos: 1, retain: true } });
    const withoutWill = await connectDevice(broker.url, bob);
    await waitFor(() => seen.filter((m) => m.payload === 'online').length >= 2, 5000, 'both online');
    // Unclean: the socket dies without DISCONNECT.
    withWill.stream.destroy();
    withoutWill.stream.destroy();
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(alice.id) && m.payload === 'offline'), 5000, 'alice offline');
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(bob.id) && m.payload === 'offline'), 5000, 'bob offline');
    withWill.end(true);
    withoutWill.end(true);
    // Retained: a dashboard arriving later reads `offline`.
    const dashboard = await connectService(broker.url, 'dashboard');
    const late = collect(dashboard);
    await dashboard.subscribeAsync(presenceTopic(bob.id), { qos: 1 });
    // 15 s: the retained lookup goes through the broker's Redis persistence, slow beside a loaded suite.
    await waitFor(() => late.some((m) => m.payload === 'offline' && m.retain), 15_000, 'retained offline');
    await endAll(orchestrator, dashboard);
  });
});
