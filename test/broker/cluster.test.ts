// Two broker nodes clustered over Redis (FLEET_BROKER_CLUSTER=redis): messages, retained state
// and sessions cross nodes; a takeover across nodes keeps presence `online`; subscriptions and
// queued messages restored from persistence are re-authorized. The orchestrator's intake is
// connected and subscribed exactly as `fleet-ota serve` does it (its own functions).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PRESENCE_TOPICS, ALL_STATUS_TOPICS, directiveTopic, presenceTopic, statusTopic } from '../../protocol/index.js';
import type { RunningBroker } from '../../broker/index.js';
import { subscribeIntake } from '../../orchestrator/ingestion/intake.js';
import { connectService as connectOrchestratorService } from '../../orchestrator/mqtt/service-client.js';
import {
  ORCHESTRATOR_SECRET, REDIS_URL, closedPromise, collect, connectDevice, connectOrThrow, connectService, deleteByPrefix, endAll,
  provisionDevice, sleep, startTestBroker, testPrefix, uniqueId, waitFor, type TestDevice,
} from './helpers.js';

let redis: Redis;
let prefix: string;
let nodeA: RunningBroker;
let nodeB: RunningBroker;
let alice: TestDevice;
let bob: TestDevice;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('cluster');
  nodeA = await startTestBroker(prefix, { cluster: 'redis', brokerId: uniqueId('node-a') });
  nodeB = await startTestBroker(prefix, { cluster: 'redis', brokerId: uniqueId('node-b') });
  alice = await provisionDevice(redis, prefix, uniqueId('alice'));
  bob = await provisionDevice(redis, prefix, uniqueId('bob'));
});

afterAll(async () => {
  await nodeA?.close();
  await nodeB?.close();
  // aedes-persistence-redis and mqemitter-redis take no prefix of their own; the broker puts
  // them under `${prefix}mqtt:` (keys via ioredis keyPrefix, channels by name), so this is all.
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

describe('two clustered nodes', () => {
  it('deliver a message published on one node to a subscriber on the other, both ways', async () => {
    const device = await connectDevice(nodeA.url, alice);
    const inbox = collect(device);
    await device.subscribeAsync(directiveTopic(alice.id), { qos: 1 });
    // One orchestrator process: a persistent session named by its instance id, status and
    // presence in one SUBSCRIBE (aedes-persistence used to drop that SUBACK: issue 12, part 3).
    const intake = await connectOrchestratorService({ url: nodeB.url, username: 'orchestrator', secret: ORCHESTRATOR_SECRET }, 'intake', uniqueId('instance'));
    const seen = collect(intake);
    await Promise.race([
      subscribeIntake(intake, false),
      sleep(10_000).then(() => Promise.reject(new Error('no SUBACK for the intake subscription'))),
    ]);
    await sleep(100);
    await intake.publishAsync(directiveTopic(alice.id), 'from-b', { qos: 1 });
    await waitFor(() => inbox.some((m) => m.payload === 'from-b'), 5000, 'directive across nodes');
    await device.publishAsync(statusTopic(alice.id), 'from-a', { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload === 'from-a'), 5000, 'status across nodes');
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(alice.id)), 5000, 'presence across nodes');
    await endAll(device, intake);
  });

  it('share retained messages: a directive retained through one node reaches a device connecting to the other', async () => {
    const orchestrator = await connectService(nodeA.url, 'orchestrator');
    await orchestrator.publishAsync(directiveTopic(bob.id), 'desired', { qos: 1, retain: true });
    expect(await redis.exists(`${prefix}mqtt:retained`)).toBe(1);
    const device = await connectDevice(nodeB.url, bob);
    const inbox = collect(device);
    await device.subscribeAsync(directiveTopic(bob.id), { qos: 1 });
    await waitFor(() => inbox.some((m) => m.payload === 'desired' && m.retain), 5000, 'retained directive on the other node');
    await orchestrator.publishAsync(directiveTopic(bob.id), '', { qos: 1, retain: true });
    await endAll(device, orchestrator);
  });

  it('a device moving to the other node takes its session over and stays online', async () => {
    const dashboard = await connectService(nodeB.url, 'dashboard');
    const seen = collect(dashboard);
    await dashboard.subscribeAsync(ALL_PRESENCE_TOPICS, { qos: 1 });
    // Drop the retained presence of earlier tests.
    await sleep(200);
    seen.length = 0;
    const first = await connectDevice(nodeA.url, alice);
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(alice.id) && m.payload === 'online'), 5000, 'online on A');
    const firstClosed = closedPromise(first);
    const second = await connectDevice(nodeB.url, alice);
    await firstClosed;
    first.end(true);
    await waitFor(() => seen.filter((m) => m.topic === presenceTopic(alice.id)).length >= 2, 5000, 'online on B');
    await sleep(300);
    expect(seen.filter((m) => m.topic === presenceTopic(alice.id)).map((m) => m.payload)).toEqual(['online', 'online']);
    // And when it then dies uncleanly, the node holding it says offline.
    second.stream.destroy();
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(alice.id) && m.payload === 'offline'), 5000, 'offline');
    second.end(true);
    await endAll(dashboard);
  });

  it('re-authorizes subscriptions and queued messages restored from a persistent session', async () => {
    const reusedId = uniqueId('reused');
    // A service session under an id no device has yet: a wildcard status subscription, persisted.
    const service = await connectOrThrow(nodeA.url, { clientId: reusedId, username: 'orchestrator', password: ORCHESTRATOR_SECRET, clean: false });
    await service.subscribeAsync(ALL_STATUS_TOPICS, { qos: 1 });
    await service.endAsync();
    // A status queued for that offline session.
    const sender = await connectDevice(nodeB.url, bob);
    await sender.publishAsync(statusTopic(bob.id), 'queued-while-offline', { qos: 1 });
    await sleep(200);
    // The id is then registered to a device, which resumes the session on the other node.
    const device = await provisionDevice(redis, prefix, reusedId);
    const before = nodeB.refusals();
    const resumed = await connectDevice(nodeB.url, device, { clean: false });
    const inbox = collect(resumed);
    await sleep(200);
    await sender.publishAsync(statusTopic(bob.id), 'after-resume', { qos: 1 });
    await sleep(300);
    expect(inbox.map((m) => m.payload)).toEqual([]);
    const after = nodeB.refusals();
    // The restored wildcard is refused on resume; the queued status is refused at delivery.
    expect((after.subscribe_denied ?? 0) - (before.subscribe_denied ?? 0)).toBe(1);
    expect((after.forward_denied ?? 0) - (before.forward_denied ?? 0)).toBeGreaterThanOrEqual(1);
    await endAll(resumed, sender);
  });
});
