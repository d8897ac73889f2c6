// Connection capacity of the fleet broker (broker/, issue 4): N real MQTT.js device connections,
// each with a freshly signed connect token verified against the registry in Redis, against one
// broker node. Prints connects per second, connections held, and the broker's RSS and CPU.
// Not a test.
//
//   npx tsx bench/broker-connect.ts --clients 10000 [--concurrency 200] [--hold 5] [--no-subscribe] [--persistence redis|memory]
//
// The broker runs in a child process and the clients in this one: in one process every
// connection holds two sockets (client and server side), and `ulimit -n` is ~20,000.
// Devices are written straight into Redis under a throwaway prefix, deleted at the end.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import mqtt, { type MqttClient } from 'mqtt';
import { buildConnectToken, directiveTopic, encodePublicKey } from '../protocol/index.js';
import { nodeEd25519 } from '../node-crypto/ed25519.js';
import { encodeDeviceRecord, registryKeys } from '../state/device-record.js';
import { generateSigningKey } from '../orchestrator/keys/key-file.js';
import { silentLogger } from '../runtime/logger.js';
import { brokerConfig, startBroker } from '../broker/index.js';
import { deleteKeysWithPrefix } from '../state/redis.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    hold: { type: 'string', default: '5' },
    'no-subscribe': { type: 'boolean', default: false },
    persistence: { type: 'string', default: 'redis' },
    'child-broker': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function positive(name: string, text: string): number {
  if (!/^\d{1,7}$/.test(text) || Number(text) < 1) {
    process.stderr.write(`broker-connect: --${name} expects a positive integer\n`);
    process.exit(2);
  }
  return Number(text);
}

interface BrokerStats {
  rss: number;
  heapUsed: number;
  cpuMicros: number;
  connections: number;
  refusals: Record<string, number>;
}

/** Child: one broker node from the prefix and limits the parent passes in the environment. */
async function runChildBroker(): Promise<void> {
  const prefix = process.env.BENCH_PREFIX!;
  const clients = Number(process.env.BENCH_CLIENTS);
  const persistence = process.env.BENCH_PERSISTENCE === 'memory' ? 'memory' : 'redis';
  const broker = await startBroker(
    brokerConfig({ port: 0, redisUrl: REDIS_URL, keyPrefix: prefix, persistence, limits: { maxConnections: clients + 100, connectsPerIpPerSec: 0 } }),
    { logger: silentLogger() },
  );
  process.send?.({ url: broker.url });
  process.on('message', (message) => {
    if (message === 'stats') {
      const { rss, heapUsed } = process.memoryUsage();
      const { user, system } = process.cpuUsage();
      const gauge = /^fleet_broker_connections (\d+)/m;
      void broker.metrics.metrics().then((text) => {
        const stats: BrokerStats = { rss, heapUsed, cpuMicros: user + system, connections: Number(gauge.exec(text)?.[1] ?? -1), refusals: broker.refusals() };
        process.send?.(stats);
      });
    } else if (message === 'close') {
      void broker.close().then(() => process.exit(0));
    }
  });
}

function request<T>(child: ChildProcess, message: string): Promise<T> {
  return new Promise((resolve) => {
    child.once('message', (reply) => resolve(reply as T));
    child.send(message);
  });
}

async function provision(redis: Redis, prefix: string, count: number): Promise<{ id: string; token: string }[]> {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const devices: { id: string; token: string }[] = [];
  for (let start = 0; start < count; start += 1000) {
    const pipeline = redis.pipeline();
    for (let i = start; i < Math.min(count, start + 1000); i++) {
      const id = `bench-${String(i).padStart(6, '0')}`;
      const key = generateSigningKey();
      pipeline.hset(registryKeys(prefix).device(id), encodeDeviceRecord({
        id, publicKey: encodePublicKey(key.publicKey), vendorId: 'bench', classId: 'bench', groups: [], tags: [], revoked: false, createdAt: '2026-01-01T00:00:00Z',
      }));
      devices.push({ id, token: buildConnectToken(id, key.secretKey, nowSeconds, 3600, nodeEd25519) });
    }
    await pipeline.exec();
  }
  return devices;
}


function connectOne(url: string, device: { id: string; token: string }, subscribe: boolean): Promise<MqttClient | undefined> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { clientId: device.id, username: device.id, password: device.token, reconnectPeriod: 0, connectTimeout: 30_000, keepalive: 120, protocolVersion: 4 });
    client.once('error', () => {
      client.end(true);
      resolve(undefined);
    });
    client.once('connect', () => {
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      if (!subscribe) return resolve(client);
      client.subscribe(directiveTopic(device.id), { qos: 1 }, (error) => resolve(error ? undefined : client));
    });
  });
}

const mb = (bytes: number) => +(bytes / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  const clients = positive('clients', values.clients!);
  const concurrency = positive('concurrency', values.concurrency!);
  const holdSeconds = positive('hold', values.hold!);
  const subscribe = !values['no-subscribe'];
  const prefix = `bench:broker:${randomBytes(4).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);

  process.stderr.write(`provisioning ${clients} devices under ${prefix} ...\n`);
  const devices = await provision(redis, prefix, clients);
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--child-broker'], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, BENCH_PREFIX: prefix, BENCH_CLIENTS: String(clients), BENCH_PERSISTENCE: values.persistence },
  });
  const { url } = await new Promise<{ url: string }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { url: string }));
    child.once('exit', (code) => reject(new Error(`broker child exited with ${code}`)));
  });
  const idle = await request<BrokerStats>(child, 'stats');
  process.stderr.write(`broker ${url} (child process, RSS ${mb(idle.rss)} MB idle); ${clients} clients, concurrency ${concurrency}, subscribe ${subscribe}\n`);

  const held: MqttClient[] = [];
  let failed = 0;
  let next = 0;
  const started = performance.now();
  const clientCpuBefore = process.cpuUsage();
  const worker = async () => {
    while (next < devices.length) {
      const device = devices[next++]!;
      const client = await connectOne(url, device, subscribe);
      if (client) held.push(client);
      else failed++;
      if ((held.length + failed) % 1000 === 0) process.stderr.write(`connected ${held.length}/${clients} (${failed} failed)\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, clients) }, worker));
  const seconds = (performance.now() - started) / 1000;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  const connected = await request<BrokerStats>(child, 'stats');

  await sleep(holdSeconds * 1000);
  const after = await request<BrokerStats>(child, 'stats');
  const stillConnected = held.filter((client) => client.connected).length;

  const result = {
    clients,
    concurrency,
    subscribe,
    connected: held.length,
    failed,
    seconds: +seconds.toFixed(2),
    connectsPerSecond: Math.round(held.length / seconds),
    heldAfterSeconds: holdSeconds,
    stillConnected,
    brokerConnectionsGauge: after.connections,
    brokerRssMB: { idle: mb(idle.rss), connected: mb(connected.rss), held: mb(after.rss) },
    brokerHeapMB: { idle: mb(idle.heapUsed), held: mb(after.heapUsed) },
    brokerRssPerConnectionKB: +((after.rss - idle.rss) / 1024 / Math.max(1, held.length)).toFixed(1),
    brokerCpuMsPerConnect: +((connected.cpuMicros - idle.cpuMicros) / 1000 / Math.max(1, held.length)).toFixed(3),
    clientCpuMsPerConnect: +((clientCpu.user + clientCpu.system) / 1000 / Math.max(1, held.length)).toFixed(3),
    refusals: after.refusals,
  };
  process.stdout.write(
    `${result.connected}/${clients} connected in ${result.seconds} s = ${result.connectsPerSecond} connects/s ` +
      `(token verified, ${subscribe ? 'subscribed, ' : ''}presence published); ${stillConnected} still held after ${holdSeconds} s; ` +
      `broker RSS ${result.brokerRssMB.idle} -> ${result.brokerRssMB.held} MB (${result.brokerRssPerConnectionKB} KB/connection), ` +
      `${result.brokerCpuMsPerConnect} ms broker CPU per connect (clients: ${result.clientCpuMsPerConnect} ms)\n${JSON.stringify(result, null, 2)}\n`,
  );

  await Promise.all(held.map((client) => client.endAsync(true).catch(() => undefined)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('close');
  await exited;
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
}

if (values.help) {
  process.stdout.write('usage: npx tsx bench/broker-connect.ts [--clients N] [--concurrency N] [--hold SECONDS] [--no-subscribe] [--persistence redis|memory]\n');
} else if (values['child-broker']) {
  await runChildBroker();
} else {
  await main();
}
