// Measures the simulator at scale: N simulated devices (reference agents, node:crypto backend,
// memory store) connecting from one process to one broker. Reports connects per second and
// heap / RSS per device. Not a test.
//
//   npx tsx --expose-gc bench/sim-scale.ts --devices 10000 [--concurrency 200] [--hold 10]
//   npx tsx --expose-gc bench/sim-scale.ts --devices 10000 --indexed-retained   (see indexRetained)
//   npx tsx --expose-gc bench/sim-scale.ts --devices 10000 --real-broker        (broker/ in the child: token
//        checks against devices written to Redis under a throwaway prefix, deleted at the end)
//   npx tsx bench/sim-scale.ts --devices 10000 --broker mqtt://127.0.0.1:1884   (an already running broker)
//
// Without --broker the broker runs in a child process: each in-process connection would hold
// two sockets (client and broker side) and `ulimit -n` is ~20,000.
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { buildRootBody, formatWireTime, signingKeyFromSeed, signRoot } from '../protocol/index.js';
import { nodeEd25519 } from '../node-crypto/ed25519.js';
import { brokerConfig, startBroker } from '../broker/index.js';
import { silentLogger } from '../runtime/logger.js';
import { encodeDeviceRecord, registryKeys } from '../state/device-record.js';
import { connectFleet, provisionFleet, type SimDevice } from '../device-sim/sim/index.js';
import { deleteKeysWithPrefix } from '../state/redis.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '200' },
    hold: { type: 'string', default: '10' },
    broker: { type: 'string' },
    'indexed-retained': { type: 'boolean', default: false },
    'real-broker': { type: 'boolean', default: false },
    prefix: { type: 'string' },
    'child-broker': { type: 'boolean', default: false },
  },
});

/**
 * aedes-persistence's memory store answers every SUBSCRIBE by testing the filter against every
 * retained message: with one retained presence per device, a connect storm is O(N²) in the
 * broker. `--indexed-retained` answers wildcard-free filters from a topic map instead, so the
 * simulator's own rate can be measured apart from that (bench only; the real broker is not changed).
 */
function indexRetained(persistence: Record<string, unknown>): void {
  const byTopic = new Map<string, unknown>();
  const store = (persistence.storeRetained as (packet: { topic: string; payload: Buffer }) => Promise<void>).bind(persistence);
  const combi = (persistence.createRetainedStreamCombi as (patterns: string[]) => Readable).bind(persistence);
  persistence.storeRetained = async (packet: { topic: string; payload: Buffer }) => {
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
    return store(packet);
  };
  persistence.createRetainedStreamCombi = (patterns: string[]) => {
    if (patterns.some((p) => p.includes('+') || p.includes('#'))) return combi(patterns);
    return Readable.from(patterns.flatMap((p) => (byTopic.has(p) ? [byTopic.get(p)] : [])));
  };
}

async function runChildBroker(): Promise<void> {
  if (values['real-broker']) {
    const broker = await startBroker(brokerConfig({
      port: 0, redisUrl: REDIS_URL, keyPrefix: values.prefix!, limits: { connectsPerIpPerSec: 0, maxConnections: 100_000, keyCacheMax: 100_000 },
    }), { logger: silentLogger() });
    process.stdout.write(`PORT ${broker.port}\n`);
    process.on('message', (message) => {
      if (message === 'cpu') process.send?.(process.cpuUsage());
    });
    process.on('SIGTERM', () => void broker.close().finally(() => process.exit(0)));
    return;
  }
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  if (values['indexed-retained']) indexRetained((aedes as unknown as { persistence: Record<string, unknown> }).persistence);
  const server = createServer(aedes.handle);
  server.listen(0, '127.0.0.1', () => process.stdout.write(`PORT ${(server.address() as AddressInfo).port}\n`));
  process.on('message', (message) => {
    if (message === 'cpu') process.send?.(process.cpuUsage());
  });
  process.on('SIGTERM', () => process.exit(0));
}

function startChildBroker(): Promise<{ url: string; child: ChildProcess }> {
  const args = [
    fileURLToPath(import.meta.url), '--child-broker',
    ...(values['indexed-retained'] ? ['--indexed-retained'] : []),
    ...(values['real-broker'] ? ['--real-broker', '--prefix', values.prefix!] : []),
  ];
  const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /PORT (\d+)/.exec(text);
      if (match) resolve({ url: `mqtt://127.0.0.1:${match[1]}`, child });
    });
    child.on('exit', (code) => reject(new Error(`broker child exited with ${code}`)));
  });
}

interface Memory {
  heapUsed: number;
  rss: number;
}

/** CPU microseconds (user + system) the broker child has used so far; 0 for an external broker. */
function brokerCpu(child: ChildProcess | undefined): Promise<number> {
  if (!child) return Promise.resolve(0);
  return new Promise((resolve) => {
    child.once('message', (usage) => resolve((usage as NodeJS.CpuUsage).user + (usage as NodeJS.CpuUsage).system));
    child.send('cpu');
  });
}

/** The registry records the real broker checks tokens against (one pipeline per 1,000). */
async function registerInRedis(redis: Redis, prefix: string, devices: readonly SimDevice[]): Promise<void> {
  for (let i = 0; i < devices.length; i += 1000) {
    const pipeline = redis.pipeline();
    for (const d of devices.slice(i, i + 1000)) {
      pipeline.hset(registryKeys(prefix).device(d.id), encodeDeviceRecord({
        id: d.id, publicKey: d.publicKey, vendorId: d.vendorId, classId: d.classId, groups: [], tags: [], revoked: false, createdAt: '2026-01-01T00:00:00Z',
      }));
    }
    await pipeline.exec();
  }
}


function ownCpu(): number {
  const { user, system } = process.cpuUsage();
  return user + system;
}

async function memory(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    await sleep(50);
    gc();
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

const kb = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;
const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const devices = Number(values.devices);
  const concurrency = Number(values.concurrency);
  const holdSeconds = Number(values.hold);
  const gcExposed = typeof (globalThis as { gc?: unknown }).gc === 'function';
  const seed = new Uint8Array(32).fill(7);
  const rootKey = signingKeyFromSeed(seed, nodeEd25519);
  const root = signRoot(buildRootBody({
    version: 1,
    expiresAt: formatWireTime(Date.now() / 1000 + 86_400),
    roles: { root: { publicKeys: [rootKey.publicKey], threshold: 1 }, release: { publicKeys: [rootKey.publicKey], threshold: 1 }, director: { publicKeys: [rootKey.publicKey], threshold: 1 } },
  }), [rootKey], nodeEd25519);

  const real = values['real-broker'] === true;
  values.prefix = `bench:sim-scale:${Math.random().toString(16).slice(2, 10)}:`;
  const redis = real ? new Redis(REDIS_URL) : undefined;
  const broker = values.broker ? { url: values.broker, child: undefined } : await startChildBroker();
  const kind = real ? 'broker/ (token auth against Redis)' : `plain Aedes${values['indexed-retained'] ? ', retained messages indexed by topic' : ''}`;
  process.stdout.write(`broker ${broker.url}${broker.child ? ` (${kind}, child process)` : ''}; ${devices} devices, connect concurrency ${concurrency}; gc ${gcExposed ? 'exposed' : 'NOT exposed (run with --expose-gc for steadier figures)'}\n`);

  const base = await memory();
  let started = performance.now();
  const fleet = await provisionFleet({ count: devices, idPrefix: 'bench-', root, vendorId: 'acme', classId: 'gw-1', seed: 1 });
  const provisionMs = performance.now() - started;
  const provisioned = await memory();
  if (redis) await registerInRedis(redis, values.prefix, fleet.devices);

  const cpuBefore = { sim: ownCpu(), broker: await brokerCpu(broker.child) };
  started = performance.now();
  const handle = await connectFleet(fleet, { brokerUrl: broker.url, connectConcurrency: concurrency, connectWaitMs: 30_000 });
  const firstAll = performance.now() - started;
  const cpuUsed = { sim: ownCpu() - cpuBefore.sim, broker: (await brokerCpu(broker.child)) - cpuBefore.broker };
  const connected = handle.connected();
  const connectedMemory = await memory();

  // Hold: keepalives and timers running, nothing else.
  await sleep(holdSeconds * 1000);
  const held = await memory();
  const stillConnected = handle.connected();

  started = performance.now();
  await handle.stop();
  const stopMs = performance.now() - started;
  broker.child?.kill('SIGTERM');
  if (redis) {
    await deleteKeysWithPrefix(redis, values.prefix);
    redis.disconnect();
  }

  const perDevice = (m: Memory) => ({ heap: (m.heapUsed - base.heapUsed) / devices, rss: (m.rss - base.rss) / devices });
  const identity = perDevice(provisioned);
  const running = perDevice(held);
  const result = {
    devices,
    connected,
    stillConnectedAfterHold: stillConnected,
    provisionSeconds: +(provisionMs / 1000).toFixed(2),
    connectSeconds: +(firstAll / 1000).toFixed(2),
    connectsPerSecond: Math.round(connected / (firstAll / 1000)),
    // CPU time per connect: what the machine's load cannot inflate (wall time it can).
    simCpuMsPerConnect: +(cpuUsed.sim / 1000 / devices).toFixed(3),
    brokerCpuMsPerConnect: +(cpuUsed.broker / 1000 / devices).toFixed(3),
    stopSeconds: +(stopMs / 1000).toFixed(2),
    heapPerDeviceKB: +(running.heap / 1024).toFixed(1),
    rssPerDeviceKB: +(running.rss / 1024).toFixed(1),
    heapPerIdentityKB: +(identity.heap / 1024).toFixed(2),
    totals: { baseRss: mb(base.rss), connectedHeap: mb(connectedMemory.heapUsed), heldHeap: mb(held.heapUsed), heldRss: mb(held.rss) },
    gcExposed,
  };
  process.stdout.write([
    `provisioned ${devices} identities in ${result.provisionSeconds} s (${kb(identity.heap)} heap each)`,
    `connected ${connected}/${devices} in ${result.connectSeconds} s: ${result.connectsPerSecond} connects/s (CPU per connect: simulator ${result.simCpuMsPerConnect} ms, broker ${result.brokerCpuMsPerConnect} ms)`,
    `after ${holdSeconds} s idle: ${stillConnected} connected; per device ${kb(running.heap)} heap, ${kb(running.rss)} RSS (process RSS ${mb(held.rss)})`,
    `stopped (clean DISCONNECT) in ${result.stopSeconds} s`,
    JSON.stringify(result),
    '',
  ].join('\n'));
}

if (values['child-broker']) await runChildBroker();
else await main();
