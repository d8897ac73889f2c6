// Metrics (GET /metrics, /healthz) and refusal events on Redis pub/sub, coalesced.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusTopic } from '../../protocol/index.js';
import { brokerEventsChannel } from '../../state/logs/index.js';
import type { RunningBroker } from '../../broker/index.js';
import {
  REDIS_URL, collect, connectDevice, connectService, deleteByPrefix, endAll, provisionDevice, sleep, startTestBroker,
  testPrefix, tryConnect, uniqueId, waitFor, type TestDevice,
} from './helpers.js';

let redis: Redis;
let events: Redis;
let prefix: string;
let broker: RunningBroker;
let alice: TestDevice;
const received: { at: number; event: Record<string, unknown> }[] = [];

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  events = new Redis(REDIS_URL);
  prefix = testPrefix('obs');
  await events.subscribe(brokerEventsChannel(prefix));
  events.on('message', (_channel, message: string) => received.push({ at: Date.now(), event: JSON.parse(message) as Record<string, unknown> }));
  broker = await startTestBroker(prefix, { metricsPort: 0 });
  alice = await provisionDevice(redis, prefix, uniqueId('alice'));
});

afterAll(async () => {
  await broker?.close();
  await events.quit();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : Number.NaN;
}

describe('metrics', () => {
  it('serves Prometheus text with connections, messages, bytes and refusals by reason, never a device id', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(statusTopic(alice.id), { qos: 1 });
    const device = await connectDevice(broker.url, alice);
    await device.publishAsync(statusTopic(alice.id), 'hello', { qos: 1 });
    await waitFor(() => seen.length === 1, 5000, 'status');
    await tryConnect(broker.url, { clientId: alice.id, username: alice.id, password: 'not-a-token' });

    const response = await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await response.text();
    expect(metricValue(text, 'fleet_broker_connections')).toBe(2);
    expect(metricValue(text, 'fleet_broker_connects_total')).toBe(2);
    expect(metricValue(text, 'fleet_broker_messages_in_total')).toBe(1);
    expect(metricValue(text, 'fleet_broker_messages_out_total')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'fleet_broker_bytes_in_total')).toBeGreaterThan(0);
    expect(metricValue(text, 'fleet_broker_bytes_out_total')).toBeGreaterThan(0);
    expect(text).toContain('fleet_broker_refusals_total{reason="token_malformed"} 1');
    expect(text).toContain('fleet_broker_refusals_total{reason="max_connections"} 0');
    expect(text).not.toContain(alice.id);
    expect(broker.metrics.contentType).toMatch(/text\/plain/);
    await endAll(device, orchestrator);
  });

  it('answers /healthz, and nothing else', async () => {
    const health = await fetch(`http://127.0.0.1:${broker.metricsPort}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });
    expect((await fetch(`http://127.0.0.1:${broker.metricsPort}/`)).status).toBe(404);
    expect((await fetch(`http://127.0.0.1:${broker.metricsPort}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});

describe('refusal events', () => {
  it('publishes a single refusal as broker.refusal and a burst as a few coalesced broker.refusals', async () => {
    await sleep(300);
    received.length = 0;
    await tryConnect(broker.url, { clientId: 'nobody-1', username: 'nobody-1', password: 'x' });
    await waitFor(() => received.length === 1, 2000, 'one event');
    expect(received[0]!.event).toMatchObject({ type: 'broker.refusal', reason: 'unknown_device' });
    expect(received[0]!.event.at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    received.length = 0;
    const started = Date.now();
    const burst = 60;
    await Promise.all(Array.from({ length: burst }, (_, i) => tryConnect(broker.url, { clientId: `nobody-${i}`, username: `nobody-${i}`, password: 'x' })));
    const elapsed = Date.now() - started;
    await sleep(400);
    const total = received.reduce((sum, { event }) => sum + (event.type === 'broker.refusal' ? 1 : (event.total as number)), 0);
    expect(total).toBe(burst);
    // At most one message per 200 ms interval, plus the one in flight at each end.
    expect(received.length).toBeLessThanOrEqual(Math.ceil((elapsed + 400) / 200) + 1);
    expect(received.length).toBeLessThan(burst / 4);
    const aggregated = received.find(({ event }) => event.type === 'broker.refusals')!;
    expect(aggregated.event).toMatchObject({ type: 'broker.refusals', counts: { unknown_device: expect.any(Number) } });
  });
});
