// GET /metrics of the orchestrator against real Redis, a real Aedes, real MQTT.js clients, the
// real status intake and consumer and the rollout Lua scripts: the exposition parses as
// Prometheus text, passes the real `promtool check metrics`, and its counters and gauges match
// what the rollout's own counts say; counters keep their values when the rollout is deleted.
import { Queue } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatusBody, encodePublicKey, encodeStatusReport, formatWireTime, presenceTopic, statusTopic, type SigningKey, type StatusSigned } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { EventLog } from '../../../orchestrator/events/event-log.js';
import { silentLogger } from '../../../runtime/logger.js';
import { ingestStatsKey, StatusConsumer } from '../../../orchestrator/ingestion/consumer.js';
import { createIntakeWriter, startIntake } from '../../../orchestrator/ingestion/intake.js';
import { DEFAULT_INTAKE_SHARDS, intakeBacklog, intakeStreamKey } from '../../../state/intake/index.js';
import type { IntakeWriter } from '../../../state/intake/index.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import { createOrchestratorMetrics, type OrchestratorMetrics } from '../../../orchestrator/metrics/index.js';
import { publishDirective } from '../../../orchestrator/mqtt/service-client.js';
import { encodeDeviceRecord, registryKeys } from '../../../state/device-record.js';
import { deviceShard, indexKey } from '../../../state/registry/index.js';
import { rolloutSpecSchema } from '../../../orchestrator/rollouts/spec.js';
import { RolloutStore } from '../../../orchestrator/rollouts/store.js';
import { queuePrefix } from '../../../state/rollouts/keys.js';
import { startPlainBroker, type PlainBroker } from './plain-broker.js';
import { appWithRoles, deleteByPrefix, testPrefix, testRedis } from '../events/helpers.js';
import { parsePrometheusText, sampleValue, samplesOf, type Family } from './prom-text.js';
import { promtoolCheck } from './promtool.js';

const prefix = testPrefix('metrics');
const ROLLOUT = 'ro-metrics';
const devices: Array<{ id: string; key: SigningKey }> = Array.from({ length: 12 }, (_, i) => ({ id: `m-dev-${String(i).padStart(2, '0')}`, key: generateSigningKey() }));
const wave0 = devices.slice(0, 6);

let redis: Redis;
let reader: Redis;
let writer: IntakeWriter;
let broker: PlainBroker;
let service: MqttClient;
let deviceClient: MqttClient;
let consumer: StatusConsumer;
let metrics: OrchestratorMetrics;
let app: FastifyInstance;
let store: RolloutStore;
let queue: Queue;
let readToken: string;

async function scrapeText(): Promise<string> {
  const response = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${readToken}` } });
  expect(response.statusCode).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return response.body;
}

async function scrape(): Promise<Map<string, Family>> {
  return parsePrometheusText(await scrapeText());
}

async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function report(device: { id: string; key: SigningKey }, seq: number, counter: number, state: StatusSigned['state'], reason?: StatusSigned['reason']): Buffer {
  const body = buildStatusBody({
    deviceId: device.id,
    rolloutId: ROLLOUT,
    counter,
    seq,
    state,
    ...(reason ? { reason } : {}),
    installed: { releaseId: 'rel-0', sequence: 1 },
    rootVersion: 1,
    at: formatWireTime(Math.floor(Date.now() / 1000)),
  });
  return Buffer.from(encodeStatusReport(body, device.key, nodeEd25519));
}

beforeAll(async () => {
  redis = testRedis();
  reader = redis.duplicate();
  store = new RolloutStore(redis, prefix);
  const keys = registryKeys(prefix);
  const pipe = redis.pipeline();
  for (const d of devices) {
    pipe.hset(keys.device(d.id), encodeDeviceRecord({ id: d.id, publicKey: encodePublicKey(d.key.publicKey), vendorId: 'acme', classId: 'sensor', groups: [], tags: [], revoked: false, createdAt: '2026-01-01T00:00:00Z' }));
    pipe.zadd(indexKey(prefix, deviceShard(d.id), { kind: 'all' }), 0, d.id);
  }
  await pipe.exec();

  broker = await startPlainBroker();
  service = await mqtt.connectAsync(broker.url, { clientId: `svc-${prefix}`, reconnectPeriod: 0 });
  deviceClient = await mqtt.connectAsync(broker.url, { clientId: `devs-${prefix}`, reconnectPeriod: 0 });
  metrics = createOrchestratorMetrics({ redis, prefix, store, defaultMetrics: false });
  metrics.observeMqtt(service);
  // A plain Aedes has no $share: one intake connection subscribes to every status topic.
  writer = createIntakeWriter(redis, prefix, silentLogger());
  metrics.observeIntake(writer);
  await startIntake(service, writer, false);
  consumer = new StatusConsumer(redis, reader, prefix, new EventLog(redis, prefix), silentLogger(), { blockMs: 50 });
  consumer.onReportApplied = (r, wave) => metrics.reportApplied(r, wave);
  consumer.onReportRead = (payload) => metrics.statusRead(payload);
  await consumer.start();
  const withRoles = await appWithRoles(redis, prefix);
  app = withRoles.app;
  readToken = withRoles.tokens.read;
  await app.register(metrics.plugin);
  queue = new Queue('notify', { connection: redis, prefix: queuePrefix(prefix, 'notify') });
});

afterAll(async () => {
  await writer?.close();
  await consumer?.stop();
  await metrics?.close();
  await queue?.close();
  await app?.close();
  await service?.endAsync(true);
  await deviceClient?.endAsync(true);
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  reader?.disconnect();
  redis?.disconnect();
});

describe('GET /metrics', () => {
  it('parses as Prometheus text and its numbers match the rollout\'s counts', async () => {
    // A rollout of two waves; wave 0 notified as the engine does it (Lua scripts + real publishes).
    const now = Math.floor(Date.now() / 1000);
    const spec = rolloutSpecSchema.parse({ id: ROLLOUT, releaseId: 'rel-1', target: { all: true }, waves: [{ count: 6 }, { percent: 100 }] });
    const record = await store.create({ id: ROLLOUT, spec, manifestSha256: 'ab'.repeat(32), waves: [wave0.map((d) => d.id), devices.slice(6).map((d) => d.id)], now });
    expect(await store.state.casWave(ROLLOUT, 0, 'pending', 'notifying', 'notifyStartedAt', now)).toBe(true);
    const counters = (await store.state.prepareSlice(record, wave0.map((d) => d.id), 1_700_000_000)).map((p) => p.counter);
    await Promise.all(wave0.map((d) => publishDirective(service, d.id, Buffer.from('{"directive":"opaque to this test"}'))));
    await store.state.markNotified(ROLLOUT, 0, 0, 1, now, wave0.map((d) => d.id));

    // Devices answer: 4 succeed, 1 fails, 1 rejects; one report is sent twice, one is forged.
    const sends: Array<[string, Buffer]> = [];
    wave0.forEach((d, i) => {
      sends.push([presenceTopic(d.id), Buffer.from(i < 5 ? 'online' : 'offline')]);
      sends.push([statusTopic(d.id), report(d, 1, counters[i]!, 'accepted')]);
      if (i < 4) sends.push([statusTopic(d.id), report(d, 2, counters[i]!, 'succeeded')]);
      if (i === 4) sends.push([statusTopic(d.id), report(d, 2, counters[i]!, 'failed', 'hash_mismatch')]);
      if (i === 5) sends.push([statusTopic(d.id), report(d, 2, counters[i]!, 'rejected', 'rollback')]);
    });
    sends.push([statusTopic(wave0[0]!.id), report(wave0[0]!, 2, counters[0]!, 'succeeded')]);
    sends.push([statusTopic(wave0[1]!.id), report({ id: wave0[1]!.id, key: generateSigningKey() }, 9, counters[1]!, 'downloading')]);
    for (const [topic, payload] of sends) await deviceClient.publishAsync(topic, payload, { qos: 1 });
    await until(async () => {
      const v = await store.view(ROLLOUT);
      return (v.counts.succeeded ?? 0) === 4 && (v.counts.failed ?? 0) === 1 && (v.counts.rejected ?? 0) === 1 && (await intakeBacklog(redis, { prefix, shards: DEFAULT_INTAKE_SHARDS })).messages === 0;
    });
    await queue.add('notify', { rolloutId: ROLLOUT }, { delay: 60_000, jobId: 'held' });
    await metrics.idle();

    const text = await scrapeText();
    expect(promtoolCheck(text)).toEqual({ ok: true, problems: '' });
    const families = parsePrometheusText(text);
    const view = await store.view(ROLLOUT);
    for (const family of families.values()) {
      expect(family.help, family.name).toBeTruthy();
      if (family.type === 'counter') expect(family.name).toMatch(/_total$/);
      // Never a device id as a label value.
      for (const s of family.samples) for (const v of Object.values(s.labels)) expect(v).not.toMatch(/^m-dev-/);
    }

    // Per-rollout gauges equal the rollout's own counts, state by state (zero included).
    const byState = samplesOf(families, 'fleet_rollout_devices').filter((s) => s.labels.rollout === ROLLOUT);
    expect(byState).toHaveLength(13);
    for (const s of byState) expect(s.value, s.labels.state).toBe(view.counts[s.labels.state as keyof typeof view.counts] ?? 0);
    expect(sampleValue(families, 'fleet_rollout_devices', { rollout: ROLLOUT, state: 'queued' })).toBe(6);
    for (const s of samplesOf(families, 'fleet_wave_devices').filter((x) => x.labels.rollout === ROLLOUT)) {
      expect(s.labels.wave).toBe('0');
      expect(s.value).toBe(view.waves[0]!.counts[s.labels.state as keyof typeof view.counts] ?? 0);
    }
    expect(sampleValue(families, 'fleet_rollout_current_wave', { rollout: ROLLOUT })).toBe(0);
    expect(sampleValue(families, 'fleet_rollouts', { status: 'running' })).toBe(1);
    expect(sampleValue(families, 'fleet_waves', { status: 'baking' })).toBe(1);
    expect(sampleValue(families, 'fleet_waves', { status: 'pending' })).toBe(1);

    // Counters: a device's rejection and an install failure are told apart, by reason.
    expect(view.reasons).toEqual({ hash_mismatch: 1, rollback: 1 });
    expect(sampleValue(families, 'fleet_install_failures_total', { reason: 'hash_mismatch' })).toBe(1);
    expect(sampleValue(families, 'fleet_install_failures_total', { reason: 'rollback' })).toBe(0);
    expect(sampleValue(families, 'fleet_device_rejections_total', { reason: 'rollback' })).toBe(1);
    expect(sampleValue(families, 'fleet_device_rejections_total', { reason: 'hash_mismatch' })).toBe(0);
    expect(sampleValue(families, 'fleet_device_rejections_total', { reason: 'declined' })).toBe(0);
    // Time to success: one observation per device that succeeded (the replayed report was stale).
    expect(families.get('fleet_update_succeeded_seconds')?.type).toBe('histogram');
    expect(sampleValue(families, 'fleet_update_succeeded_seconds_count')).toBe(view.counts.succeeded);
    expect(sampleValue(families, 'fleet_update_succeeded_seconds_bucket', { le: '+Inf' })).toBe(view.counts.succeeded);
    expect(sampleValue(families, 'fleet_build_info', { component: 'orchestrator' })).toBe(1);
    const notified = view.total - (view.counts.queued ?? 0);
    expect(sampleValue(families, 'fleet_directives_published_total')).toBe(notified);

    // Reports received by claimed state: the rollout's terminal counts, plus the one sent twice.
    expect(sampleValue(families, 'fleet_status_reports_total', { state: 'succeeded' })).toBe(view.counts.succeeded! + 1);
    expect(sampleValue(families, 'fleet_status_reports_total', { state: 'failed' })).toBe(view.counts.failed);
    expect(sampleValue(families, 'fleet_status_reports_total', { state: 'rejected' })).toBe(view.counts.rejected);
    expect(sampleValue(families, 'fleet_status_reports_total', { state: 'accepted' })).toBe(6);
    expect(sampleValue(families, 'fleet_status_reports_total', { state: 'downloading' })).toBe(1);

    // Ingestion outcomes are the consumer's Redis counters: 6 accepted + 6 terminal applied.
    expect(sampleValue(families, 'fleet_ingest_outcomes_total', { outcome: 'applied' })).toBe(12);
    expect(sampleValue(families, 'fleet_ingest_outcomes_total', { outcome: 'stale' })).toBe(1);
    expect(sampleValue(families, 'fleet_ingest_outcomes_total', { outcome: 'bad_signature' })).toBe(1);
    const outcomes = await redis.hgetall(ingestStatsKey(prefix));
    expect(Object.fromEntries(samplesOf(families, 'fleet_ingest_outcomes_total').map((s) => [s.labels.outcome, String(s.value)]))).toEqual(outcomes);
    expect(sampleValue(families, 'fleet_ingest_backlog_messages')).toBe(0);
    // The intake wrote every message it received (presence, reports, the duplicate, the forgery).
    expect(sampleValue(families, 'fleet_intake_written_total')).toBe(sends.length);
    expect(sampleValue(families, 'fleet_intake_pending_messages')).toBe(0);
    expect(sampleValue(families, 'fleet_intake_write_failures_total', { kind: 'oom' })).toBe(0);
    expect(sampleValue(families, 'fleet_ingest_lag_seconds')).toBe(0);

    expect(sampleValue(families, 'fleet_bullmq_jobs', { queue: 'notify', state: 'delayed' })).toBe(1);
    expect(sampleValue(families, 'fleet_bullmq_jobs', { queue: 'cancel', state: 'waiting' })).toBe(0);
    expect(sampleValue(families, 'fleet_devices', { presence: 'online' })).toBe(5);
    expect(sampleValue(families, 'fleet_devices', { presence: 'offline' })).toBe(1);
    expect(sampleValue(families, 'fleet_devices', { presence: 'unknown' })).toBe(6);

    // Counters only count: deleting the rollout (as retention would) takes nothing back.
    await store.state.remove(ROLLOUT);
    const after = await scrape();
    expect(sampleValue(after, 'fleet_install_failures_total', { reason: 'hash_mismatch' })).toBe(1);
    expect(sampleValue(after, 'fleet_device_rejections_total', { reason: 'rollback' })).toBe(1);
    expect(sampleValue(after, 'fleet_update_succeeded_seconds_count')).toBe(4);
  });

  it('reports the age of the oldest unprocessed intake entry as the ingestion lag', async () => {
    const lagPrefix = `${prefix}lag:`;
    const lagMetrics = createOrchestratorMetrics({ redis, prefix: lagPrefix, defaultMetrics: false });
    const { app: lagApp, tokens: lagTokens } = await appWithRoles(redis, lagPrefix);
    await lagApp.register(lagMetrics.plugin);
    try {
      await redis.set(`${lagPrefix}{intake}:shards`, String(DEFAULT_INTAKE_SHARDS));
      await redis.xadd(intakeStreamKey(lagPrefix, 3), `${Date.now() - 5_000}-0`, 't', 'fleet/v1/x/status', 'p', '{}', 'r', Date.now() - 5_000);
      const response = await lagApp.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${lagTokens.read}` } });
      const families = parsePrometheusText(response.body);
      expect(sampleValue(families, 'fleet_ingest_lag_seconds')).toBeGreaterThanOrEqual(5);
      expect(sampleValue(families, 'fleet_ingest_lag_seconds')).toBeLessThan(30);
      expect(sampleValue(families, 'fleet_ingest_backlog_messages')).toBe(1);
    } finally {
      await lagApp.close();
      await lagMetrics.close();
    }
  });

  it('needs a read token on the API port; on a port of its own it needs none', async () => {
    const secured = await appWithRoles(redis, prefix);
    const own = createOrchestratorMetrics({ redis, prefix });
    await secured.app.register(own.plugin);
    const server = await own.listen('127.0.0.1', 0);
    try {
      expect((await secured.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
      const ok = await secured.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${secured.tokens.read}` } });
      expect(ok.statusCode).toBe(200);
      const plain = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      expect(plain.status).toBe(200);
      expect(plain.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await plain.text();
      // With the default process metrics on: present, and promtool-clean (no gauge named *_total).
      const families = parsePrometheusText(text);
      expect(sampleValue(families, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
      expect(families.has('nodejs_active_handles')).toBe(true);
      expect([...families.keys()].filter((n) => n.startsWith('nodejs_active_') && n.endsWith('_total'))).toEqual([]);
      expect(promtoolCheck(text)).toEqual({ ok: true, problems: '' });
      expect((await fetch(`http://127.0.0.1:${server.port}/healthz`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${server.port}/v1/devices`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status).toBe(405);
    } finally {
      await server.close();
      await secured.app.close();
      await own.close();
    }
  });

  it('promtool itself refuses what the old exposition had: a gauge named *_total', () => {
    expect(promtoolCheck('# HELP nodejs_active_handles_total x\n# TYPE nodejs_active_handles_total gauge\nnodejs_active_handles_total 3\n').ok).toBe(false);
  });
});

describe('parsePrometheusText', () => {
  it('refuses what a Prometheus server would refuse', () => {
    expect(() => parsePrometheusText('# TYPE a counter\na -1\n')).toThrow();
    expect(() => parsePrometheusText('a{b="c} 1\n')).toThrow();
    expect(() => parsePrometheusText('a{b="c"} x\n')).toThrow();
    expect(() => parsePrometheusText('a 1\na 1\n')).toThrow();
    expect(() => parsePrometheusText('a 1')).toThrow();
    expect(sampleValue(parsePrometheusText('# HELP a x\n# TYPE a gauge\na{b="q\\"r"} 2.5\n'), 'a', { b: 'q"r' })).toBe(2.5);
  });
});
