// `npx tsx bench/intake.ts [--reports N] [--publishers P] [--mode batched|one-at-a-time]`: how
// many status messages per second the MQTT intake bridge (FLEET_INTAKE_MODE=bridge) takes from
// the broker into the intake shards, each acknowledged only once durable. The broker is a plain Aedes in a child process
// (bench/lib/raw-broker-child.ts); P publishers send N QoS 1 messages of a status report's size
// to the intake's persistent session while it is away, then the intake connects and the clock
// stops when every one is in the stream and acknowledged by the intake. `one-at-a-time` is the intake before batching (one XADD, then the
// PUBACK, then the next message), kept here as the baseline. Redis: REDIS_URL, unique prefix,
// cleaned up after. Verification and applying are measured by bench/ingest.ts.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { silentLogger } from '../runtime/logger.js';
import { createRedis, deleteKeysWithPrefix, duplicateRedis } from '../state/redis.js';
import { createIntakeWriter, installIntakeHandler, subscribeIntake } from '../orchestrator/ingestion/intake.js';
import { DEFAULT_INTAKE_SHARDS, intakeBacklog, intakeStreamKey, shardOf } from '../state/intake/index.js';
import { statusTopic } from '../protocol/index.js';
import { startBrokerChild } from './lib/broker-child.js';

const { values } = parseArgs({ options: { reports: { type: 'string', default: '20000' }, publishers: { type: 'string', default: '20' }, mode: { type: 'string', default: 'batched' } } });
const total = Number(values.reports);
const publishers = Number(values.publishers);
const mode = values.mode;
if (!Number.isInteger(total) || total < 1 || !Number.isInteger(publishers) || publishers < 1 || (mode !== 'batched' && mode !== 'one-at-a-time')) {
  process.stderr.write('usage: bench/intake.ts [--reports N] [--publishers P] [--mode batched|one-at-a-time]\n');
  process.exit(2);
}

const prefix = `bench:intake:${randomBytes(4).toString('hex')}:`;
const redis = createRedis();
const broker = await startBrokerChild();
const url = `mqtt://127.0.0.1:${broker.port}`;
const clients: MqttClient[] = [];
try {
  // The intake's persistent session: it subscribes, goes away, and the broker queues a backlog
  // for it (as for an orchestrator restarted under load). Then the clock measures the drain.
  const clientId = `bench-intake-${prefix}`;
  const first = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 0 });
  await subscribeIntake(first, false);
  await first.endAsync();
  // A signed status report is ~450 bytes on the wire.
  const payload = randomBytes(450);
  const devices: MqttClient[] = [];
  for (let i = 0; i < publishers; i++) devices.push(await mqtt.connectAsync(url, { clientId: `bench-dev-${i}-${prefix}`, reconnectPeriod: 0 }));
  clients.push(...devices);
  await Promise.all(devices.map(async (client, p) => {
    const mine = Math.floor(total / publishers) + (p < total % publishers ? 1 : 0);
    for (let sent = 0; sent < mine; sent += 100) {
      await Promise.all(Array.from({ length: Math.min(100, mine - sent) }, () => client.publishAsync(statusTopic(`bench-${p}`), payload, { qos: 1 })));
    }
  }));

  const writer = mode === 'batched' ? createIntakeWriter(duplicateRedis(redis), prefix, silentLogger()) : undefined;
  const layout = { prefix, shards: DEFAULT_INTAKE_SHARDS };
  let acked = 0;
  const started = performance.now();
  const service = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 0 });
  clients.push(service);
  service.on('packetsend', (packet) => {
    if (packet.cmd === 'puback') acked++;
  });
  if (writer) {
    installIntakeHandler(service, writer);
  } else {
    // The intake as it was: one XADD per message, the PUBACK after it, the next message after that.
    service.handleMessage = (packet, callback) => {
      if (packet.cmd !== 'publish') return callback();
      redis.xadd(intakeStreamKey(prefix, shardOf(packet.topic.split('/')[2] ?? '', layout.shards)), '*', 't', packet.topic, 'p', Buffer.from(packet.payload), 'r', Date.now()).then(() => callback(), (error: Error) => callback(error));
    };
  }
  for (;;) {
    if (acked >= total && (await intakeBacklog(redis, layout)).messages >= total) break;
    await sleep(5);
  }
  const seconds = (performance.now() - started) / 1000;
  const batches = writer ? ` in ${writer.stats.batches} batches (mean ${(writer.stats.written / writer.stats.batches).toFixed(1)})` : '';
  console.log(`intake (${mode}): a backlog of ${total} messages durable and acknowledged in ${seconds.toFixed(2)} s = ${Math.round(total / seconds)} messages/s${batches}`);
  await writer?.close();
} finally {
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
  await broker.stop();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
}
