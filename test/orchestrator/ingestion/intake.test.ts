// The MQTT intake bridge against a real Aedes, real MQTT.js clients and a private redis-server
// (so it can be driven to maxmemory): reports are written to their device's intake shard in
// batches, in order, each PUBACKed only once its shard's transaction is durable; a Redis that
// refuses writes holds the reports unacknowledged, makes the process not ready and is retried
// until it accepts them again, with nothing lost.
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../runtime/logger.js';
import { Readiness } from '../../../orchestrator/infra/readiness.js';
import { createRedis } from '../../../state/redis.js';
import { createIntakeWriter, startIntake } from '../../../orchestrator/ingestion/intake.js';
import { DEFAULT_INTAKE_SHARDS, allIntakeStreamKeys, intakeStreamKey, shardOf } from '../../../state/intake/index.js';
import type { IntakeWriter } from '../../../state/intake/index.js';
import { statusTopic } from '../../../protocol/index.js';
import { startPlainBroker, type PlainBroker } from '../metrics/plain-broker.js';
import { startPrivateRedis, type PrivateRedis } from '../../support/private-redis.js';

const prefix = 'intake-test:';
const keys = allIntakeStreamKeys({ prefix, shards: DEFAULT_INTAKE_SHARDS });

let server: PrivateRedis;
let broker: PlainBroker;
const closers: Array<() => Promise<unknown>> = [];

beforeAll(async () => {
  server = await startPrivateRedis();
  broker = await startPlainBroker();
}, 30_000);

afterAll(async () => {
  await broker?.close();
  await server?.stop();
});

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await server.admin.config('SET', 'maxmemory', '0');
  await server.admin.del(...keys, 'junk');
});

async function intake(readiness?: Readiness, options: Parameters<typeof createIntakeWriter>[4] = {}): Promise<{ writer: IntakeWriter; service: MqttClient }> {
  const redis = createRedis(server.url, {}, { logger: silentLogger() });
  const writer = createIntakeWriter(redis, prefix, silentLogger(), readiness, options);
  const service = await mqtt.connectAsync(broker.url, { clientId: `svc-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
  await startIntake(service, writer, false);
  closers.push(async () => redis.disconnect(), () => service.endAsync(true), () => writer.close(200));
  return { writer, service };
}

async function device(): Promise<MqttClient> {
  const client = await mqtt.connectAsync(broker.url, { clientId: `dev-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0 });
  closers.push(() => client.endAsync(true));
  return client;
}

/** Payloads of `deviceId`'s reports, in the order its shard holds them. */
async function streamPayloads(deviceId: string): Promise<string[]> {
  const entries = await server.admin.xrange(intakeStreamKey(prefix, shardOf(deviceId, DEFAULT_INTAKE_SHARDS)), '-', '+');
  return entries.filter(([, fields]) => fields[fields.indexOf('t') + 1] === statusTopic(deviceId)).map(([, fields]) => fields[fields.indexOf('p') + 1]!);
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await server.admin.info('memory'))![1]);
}

/**
 * Fills the private Redis to its maxmemory (set just above what it holds), then lowers the limit
 * a little below what it now holds, so that small frees (client buffers) do not let a write
 * through; deleting `junk` frees far more than that.
 */
async function fillToMaxmemory(): Promise<void> {
  await server.admin.config('SET', 'maxmemory', String((await usedMemory()) + 2 * 1024 * 1024));
  const chunk = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 1_000; i++) {
    try {
      await server.admin.rpush('junk', chunk);
    } catch (error) {
      if (!/OOM/.test((error as Error).message)) throw error;
      await server.admin.config('SET', 'maxmemory', String((await usedMemory()) - 512 * 1024));
      return;
    }
  }
  throw new Error('Redis never reached maxmemory');
}

/** PUBACKs the intake's connection sends. */
function pubacks(service: MqttClient): () => number {
  let n = 0;
  service.on('packetsend', (packet) => {
    if (packet.cmd === 'puback') n++;
  });
  return () => n;
}

describe('status intake', () => {
  it('writes reports in batches, in order, to the device\'s shard, and PUBACKs each once it is there', async () => {
    const { writer, service } = await intake();
    const acks = pubacks(service);
    const client = await device();
    const n = 400;
    // All in flight at once, as a broker delivers a backlog: many go into one batch.
    await Promise.all(Array.from({ length: n }, (_, i) => client.publishAsync(statusTopic('dev-a'), `report-${i}`, { qos: 1 })));
    await until(() => acks() === n, 'every report acknowledged by the intake');
    expect(await streamPayloads('dev-a')).toEqual(Array.from({ length: n }, (_, i) => `report-${i}`));
    expect(writer.stats.written).toBe(n);
    expect(writer.stats.acked).toBe(n);
    expect(writer.stats.batches).toBeLessThan(n / 4);
  }, 30_000);

  it('holds reports unacknowledged while Redis is at maxmemory, not ready, and resumes by itself with nothing lost', async () => {
    const readiness = new Readiness();
    const { writer, service } = await intake(readiness, { retryInitialMs: 20, retryMaxMs: 200 });
    const acks = pubacks(service);
    const client = await device();
    await fillToMaxmemory();

    // The broker takes the reports from the device at once; the intake must not ack them.
    await Promise.all(Array.from({ length: 20 }, (_, i) => client.publishAsync(statusTopic(`dev-${i % 3}`), `held-${i}`, { qos: 1 })));
    await until(() => writer.pending === 20 && (writer.stats.failures.oom ?? 0) >= 3, 'refused writes retried');
    // Not one PUBACK while nothing is durable, and the process says it is not ready.
    expect(acks()).toBe(0);
    expect(writer.failing).toBe(true);
    expect(readiness.list().map((p) => p.check)).toEqual(['intake_writes']);
    expect(await server.admin.exists(...keys)).toBe(0);

    // Memory returns: the same reports go in, in order, each acknowledged, and readiness clears.
    await server.admin.del('junk');
    await until(() => acks() === 20, 'the held reports acknowledged');
    for (const d of [0, 1, 2]) {
      expect(await streamPayloads(`dev-${d}`)).toEqual(Array.from({ length: 20 }, (_, i) => `held-${i}`).filter((_, i) => i % 3 === d));
    }
    expect(writer.failing).toBe(false);
    expect(readiness.list()).toEqual([]);
    expect(writer.stats.outages).toBe(1);
  }, 30_000);

  it('stops reading from the broker while maxPending reports wait to be written', async () => {
    const { writer, service } = await intake(undefined, { maxPending: 5, retryInitialMs: 20, retryMaxMs: 100 });
    const acks = pubacks(service);
    const client = await device();
    await fillToMaxmemory();
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.publishAsync(statusTopic('dev-p'), `p-${i}`, { qos: 1 })));
    await until(() => writer.pending >= 5 && (writer.stats.failures.oom ?? 0) >= 2, 'the writer full');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The message that filled it was taken; then MQTT.js read no further.
    expect(writer.pending).toBe(5);
    expect(acks()).toBe(0);
    await server.admin.del('junk');
    await until(() => acks() === 30, 'all acknowledged');
    expect(await streamPayloads('dev-p')).toEqual(Array.from({ length: 30 }, (_, i) => `p-${i}`));
  }, 30_000);
});
