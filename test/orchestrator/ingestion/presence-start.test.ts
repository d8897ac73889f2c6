// Presence without a replay at start, over real MQTT: the embedded broker writes every presence
// change to the intake shards, one orchestrator's ingestion records it in the registry and the
// fleet counters (state/registry/record-presence.ts), and a newly started orchestrator's
// ingestion reads presence from Redis: it subscribes to nothing and applies no presence message
// for devices that connected before it started, while later changes keep flowing to it.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConnectToken, encodePublicKey } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import { EventLog } from '../../../orchestrator/events/event-log.js';
import { silentLogger } from '../../../runtime/logger.js';
import { StatusConsumer } from '../../../orchestrator/ingestion/consumer.js';
import { readDeviceField, readFleetCounts, registerDevices } from '../../../state/registry/index.js';
import { DEFAULT_INTAKE_SHARDS } from '../../../state/intake/index.js';
import type { RunningBroker } from '../../../broker/index.js';
import { REDIS_URL, connectDevice, deleteByPrefix, endAll, startTestBroker, testPrefix, waitFor, type TestDevice } from '../../broker/helpers.js';
import type { MqttClient } from 'mqtt';

const DEVICES = 12;
let redis: Redis;
let prefix: string;
let broker: RunningBroker;
const readers: Redis[] = [];
const clients: MqttClient[] = [];

function consumer(): StatusConsumer {
  const reader = redis.duplicate();
  readers.push(reader);
  return new StatusConsumer(redis, reader, prefix, new EventLog(redis, prefix), silentLogger(), { blockMs: 50, heartbeatMs: 200, leaseMs: 1_000 });
}

async function devices(from: number, n: number): Promise<TestDevice[]> {
  const made = Array.from({ length: n }, (_, i) => {
    const key = generateSigningKey();
    const id = `ps-${String(from + i).padStart(3, '0')}`;
    return { id, key, token: (now = Math.floor(Date.now() / 1000), life = 3600) => buildConnectToken(id, key.secretKey, now, life, nodeEd25519) };
  });
  await registerDevices(redis, prefix, made.map((d) => ({ id: d.id, publicKey: encodePublicKey(d.key.publicKey), vendorId: 'acme', classId: 'sensor', groups: [], tags: [] })), new Date());
  return made;
}

/** Polls the fleet counters until they match (presence is counted when read, recorded just after). */
async function countsReach(expected: Record<string, number>): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const counts = await readFleetCounts(redis, prefix);
    if (Object.entries(expected).every(([k, v]) => counts[k as 'total'] === v)) return;
    if (Date.now() > deadline) expect(counts).toMatchObject(expected);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('presence-start');
  broker = await startTestBroker(prefix);
});

afterAll(async () => {
  await endAll(...clients);
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  for (const reader of readers) reader.disconnect();
  await redis.quit();
});

describe('presence at orchestrator start', () => {
  it('a new orchestrator applies no presence of devices already connected, and hears later changes', async () => {
    const first = consumer();
    await first.start();
    const fleet = await devices(0, DEVICES);
    for (const device of fleet) clients.push(await connectDevice(broker.url, device));
    await waitFor(() => (first.stats.outcomes.presence ?? 0) >= DEVICES, 10_000, 'online recorded');
    await endAll(clients.shift()); // forced close: the will says offline
    await waitFor(() => (first.stats.outcomes.presence ?? 0) >= DEVICES + 1, 10_000, 'offline recorded');
    await countsReach({ total: DEVICES, online: DEVICES - 1, offline: 1, unknown: 0 });
    await first.stop();

    // A second orchestrator starts: it takes every intake shard and reads nothing of the past.
    const second = consumer();
    await second.start();
    await waitFor(() => second.stats.shards.length === DEFAULT_INTAKE_SHARDS, 10_000, 'shards held');
    // Let it read its shards for a while: a replay would show up as presence outcomes.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(second.stats.outcomes.presence ?? 0).toBe(0);
    expect(second.stats.claimed).toBe(0);
    // What it knows of presence is in Redis, written before it started.
    expect(await readDeviceField(redis, prefix, fleet.map((d) => d.id), 'presence')).toEqual(['offline', ...Array(DEVICES - 1).fill('online')]);

    // Changes after its start reach it: one device leaves, a new one comes.
    await endAll(clients.shift());
    const [late] = await devices(DEVICES, 1);
    clients.push(await connectDevice(broker.url, late!));
    await waitFor(() => (second.stats.outcomes.presence ?? 0) >= 2, 10_000, 'later presence recorded');
    expect(second.stats.outcomes.presence).toBe(2);
    await countsReach({ total: DEVICES + 1, online: DEVICES - 1, offline: 2, unknown: 0 });
    await second.stop();
  });
});
