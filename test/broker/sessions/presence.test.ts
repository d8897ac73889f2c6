// Presence on every disconnect over real MQTT: a clean DISCONNECT (Aedes discards the will)
// still says `offline`, which the orchestrator's real intake records with its time (the
// device's last-seen: `presence`/`presenceAt` in the registry); an unclean close says it once
// (the will, not the broker again); a connection taken over by a newer one says nothing.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatWireTime, presenceTopic } from '../../../protocol/index.js';
import { EventLog } from '../../../orchestrator/events/event-log.js';
import { silentLogger } from '../../../runtime/logger.js';
import { StatusConsumer } from '../../../orchestrator/ingestion/consumer.js';
import { registryKeys } from '../../../state/device-record.js';
import type { RunningBroker } from '../../../broker/index.js';
import {
  REDIS_URL, collect, connectDevice, connectService, deleteByPrefix, endAll, provisionDevice,
  startTestBroker, testPrefix, uniqueId, waitFor, type TestDevice,
} from '../helpers.js';

let redis: Redis;
let reader: Redis;
let prefix: string;
let broker: RunningBroker;
let consumer: StatusConsumer;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  reader = redis.duplicate();
  prefix = testPrefix('presence');
  broker = await startTestBroker(prefix);
  // The broker writes presence to the intake shards (the edge write); the orchestrator's
  // ingestion member applies it, as `fleet-ota serve` runs it.
  consumer = new StatusConsumer(redis, reader, prefix, new EventLog(redis, prefix), silentLogger(), { blockMs: 50 });
  await consumer.start();
});

afterAll(async () => {
  await consumer?.stop();
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  await reader.quit();
  await redis.quit();
});

/** Presence payloads seen for `device`, in order. */
function presenceOf(seen: { topic: string; payload: string }[], device: TestDevice): string[] {
  return seen.filter((m) => m.topic === presenceTopic(device.id)).map((m) => m.payload);
}

describe('presence on disconnect', () => {
  it('a clean DISCONNECT publishes retained offline, recorded with its time as last seen', async () => {
    const device = await provisionDevice(redis, prefix, uniqueId('clean'));
    const watcher = await connectService(broker.url, 'dashboard');
    const seen = collect(watcher);
    await watcher.subscribeAsync(presenceTopic(device.id), { qos: 1 });
    const client = await connectDevice(broker.url, device);
    const record = () => redis.hgetall(registryKeys(prefix).device(device.id));
    await waitFor(() => presenceOf(seen, device).includes('online'), 5_000, 'online');
    const disconnectedAt = formatWireTime(Math.floor(Date.now() / 1000));
    await client.endAsync(false); // DISCONNECT packet: Aedes discards the will
    await waitFor(() => presenceOf(seen, device).at(-1) === 'offline', 5_000, 'offline');
    expect(presenceOf(seen, device)).toEqual(['online', 'offline']);

    // Retained: a later subscriber learns it too.
    const late = await connectService(broker.url, 'dashboard');
    const lateSeen = collect(late);
    await late.subscribeAsync(presenceTopic(device.id), { qos: 1 });
    await waitFor(() => lateSeen.length > 0, 5_000, 'retained presence');
    expect(lateSeen[0]).toMatchObject({ payload: 'offline', retain: true });

    // The orchestrator's registry: offline, last seen at (or after) the disconnect.
    let fields: Record<string, string> = {};
    const deadline = Date.now() + 10_000;
    while (fields.presence !== 'offline' && Date.now() < deadline) {
      fields = await record();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(fields.presence).toBe('offline');
    expect(fields.presenceAt! >= disconnectedAt).toBe(true);
    await endAll(watcher, late);
  });

  it('an unclean close says offline once (the will), and a takeover says nothing for the old connection', async () => {
    const device = await provisionDevice(redis, prefix, uniqueId('unclean'));
    const watcher = await connectService(broker.url, 'dashboard');
    const seen = collect(watcher);
    await watcher.subscribeAsync(presenceTopic(device.id), { qos: 1 });

    const first = await connectDevice(broker.url, device);
    await waitFor(() => presenceOf(seen, device).length === 1, 5_000, 'online 1');
    await endAll(first); // forced: no DISCONNECT, the will fires
    await waitFor(() => presenceOf(seen, device).length === 2, 5_000, 'offline 1');

    // Takeover: a third connection with the same id replaces the second.
    const second = await connectDevice(broker.url, device);
    await waitFor(() => presenceOf(seen, device).length === 3, 5_000, 'online 2');
    const third = await connectDevice(broker.url, device);
    await waitFor(() => presenceOf(seen, device).length === 4, 5_000, 'online 3');
    // A clean disconnect of the live connection, then a new one: its `online` is the sentinel
    // that anything the earlier connections would have said has arrived before it.
    await third.endAsync(false);
    await waitFor(() => presenceOf(seen, device).length === 5, 5_000, 'offline 3');
    const fourth = await connectDevice(broker.url, device);
    await waitFor(() => presenceOf(seen, device).at(-1) === 'online' && presenceOf(seen, device).length >= 6, 5_000, 'online 4');
    expect(presenceOf(seen, device)).toEqual(['online', 'offline', 'online', 'online', 'offline', 'online']);
    second.end(true);
    await endAll(fourth, watcher);
  });
});
