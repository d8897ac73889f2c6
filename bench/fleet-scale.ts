// `npx tsx bench/fleet-scale.ts --devices 100000 [--brokers 7] [--sims 7]`: issue 16 goal 4, the
// whole fleet-ota on one machine: a private redis-server, a cluster of `fleet-ota broker` nodes
// (FLEET_BROKER_CLUSTER=redis), one `fleet-ota serve`, and the simulated devices split over
// several processes, rolled out in 3 waves (1 %, 10 %, 100 %) to all succeeded with exact counts.
// Prints connects/s, rollout wall time, server CPU per device, broker memory per connection,
// Redis bytes per device and the orchestrator's peak RSS, each beside the load average.
//
// Why processes and addresses: `ulimit -n` is 20,000 (hard) for every process here and cannot be
// raised without CAP_SYS_RESOURCE, so no process may hold more than ~19,000 sockets: each broker
// node takes the devices of one simulator process (at most MAX_DEVICES_PER_PROCESS), and node i
// listens on its own loopback address 127.0.0.(i + 2), so the ~28,000 ephemeral ports Linux has
// per destination never run out however many devices there are. Not a test: figures.
import { fork, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { RootEnvelope } from '../protocol/index.js';
import { connectFleet, provisionFleet, type FleetHandle } from '../device-sim/sim/index.js';
import { processUsage, startProcessStack, type ChildHandle } from '../test/support/process-stack.js';
import { startPrivateRedis } from '../test/support/private-redis.js';
import { timeLimit } from '../runtime/time-limit.js';
import { redisCpuSeconds, redisUsedMemory } from './lib/redis-cpu.js';
import { round } from './lib/stats.js';

/** A process's sockets stay well under the 20,000 descriptors it may hold. */
const MAX_DEVICES_PER_PROCESS = 17_000;
const WAVES = [1, 10, 100] as const;

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '100000' },
    brokers: { type: 'string' },
    sims: { type: 'string' },
    'connect-concurrency': { type: 'string', default: '100' },
    'timeout-minutes': { type: 'string', default: '60' },
    'sim-child': { type: 'boolean', default: false },
  },
});

type ToChild =
  | { type: 'provision'; index: number; count: number; root: RootEnvelope; vendorId: string; classId: string }
  | { type: 'connect'; brokerUrl: string; concurrency: number }
  | { type: 'stop' };
type FromChild =
  | { type: 'provisioned'; devices: Array<{ id: string; publicKey: string }> }
  | { type: 'connected'; connected: number }
  | { type: 'counts'; succeeded: number; failed: number; reconnects: number }
  | { type: 'stopped' };

/** A simulator process: provisions its share of the fleet, connects it to one broker node, reports counts. */
async function runSimChild(): Promise<void> {
  const send = (message: FromChild) => process.send?.(message);
  let provisioned: Awaited<ReturnType<typeof provisionFleet>> | undefined;
  let fleet: FleetHandle | undefined;
  let succeeded = 0;
  let failed = 0;
  process.on('message', async (message: ToChild) => {
    if (message.type === 'provision') {
      provisioned = await provisionFleet({ count: message.count, idPrefix: `scale${message.index}-`, root: message.root, vendorId: message.vendorId, classId: message.classId, seed: message.index + 1 });
      send({ type: 'provisioned', devices: provisioned.devices.map((d) => ({ id: d.id, publicKey: d.publicKey })) });
    } else if (message.type === 'connect') {
      fleet = await connectFleet(provisioned!, {
        brokerUrl: message.brokerUrl,
        connectConcurrency: message.concurrency,
        connectWaitMs: 60_000,
        onReport: ({ report }) => {
          if (report.state === 'succeeded') succeeded++;
          else if (report.state === 'failed' || report.state === 'rejected') failed++;
        },
      });
      send({ type: 'connected', connected: fleet.connected() });
      const attempts = () => fleet!.runtimes.reduce((n, r) => n + r.transport.stats.attempts, 0);
      const first = attempts();
      setInterval(() => send({ type: 'counts', succeeded, failed, reconnects: attempts() - first }), 1_000).unref();
    } else {
      await fleet?.stop();
      send({ type: 'stopped' });
      process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

interface SimProcess {
  child: ChildProcess;
  next<T extends FromChild['type']>(type: T): Promise<Extract<FromChild, { type: T }>>;
  last: { succeeded: number; failed: number; reconnects: number };
}

function startSimProcess(): SimProcess {
  const child = fork(fileURLToPath(import.meta.url), ['--sim-child'], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const waiting = new Map<string, (message: FromChild) => void>();
  const sim: SimProcess = {
    child,
    last: { succeeded: 0, failed: 0, reconnects: 0 },
    next: (type) => new Promise((resolve, reject) => {
      waiting.set(type, resolve as (message: FromChild) => void);
      child.once('exit', (code) => reject(new Error(`simulator process exited (${code}) while waiting for ${type}`)));
    }),
  };
  child.on('message', (message: FromChild) => {
    if (message.type === 'counts') sim.last = message;
    waiting.get(message.type)?.(message);
    waiting.delete(message.type);
  });
  return sim;
}

async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

async function cpuSeconds(pids: readonly number[]): Promise<number> {
  let total = 0;
  for (const pid of pids) total += (await processUsage(pid))?.cpuSeconds ?? 0;
  return total;
}

async function main(): Promise<void> {
  const devices = Number(values.devices);
  if (!Number.isInteger(devices) || devices < 1 || devices > 200_000) throw new Error('--devices must be 1..200000');
  const minProcesses = Math.ceil(devices / MAX_DEVICES_PER_PROCESS);
  const sims = Number(values.sims ?? minProcesses);
  const brokers = Number(values.brokers ?? sims);
  if (sims < minProcesses || brokers < minProcesses) throw new Error(`${devices} devices need at least ${minProcesses} simulator and broker processes (ulimit -n 20,000)`);
  const load = () => round(loadavg()[0]!, 2);
  const log = (text: string) => process.stderr.write(`  [${new Date().toISOString().slice(11, 19)}] ${text}\n`);
  console.log(`fleet-ota at scale: ${devices} devices, ${brokers} broker nodes (cluster over Redis), ${sims} simulator processes, waves ${WAVES.join('/')} % (load average ${load()})`);

  const redis = await startPrivateRedis({ args: ['--maxclients', '10000'] });
  const simProcesses: SimProcess[] = [];
  const stack = await startProcessStack({
    redisUrl: redis.url,
    brokerEnv: {
      FLEET_BROKER_CLUSTER: 'redis',
      FLEET_BROKER_ID: 'scale-0',
      FLEET_BROKER_HOST: '127.0.0.2',
      FLEET_BROKER_MAX_CONNECTIONS: String(MAX_DEVICES_PER_PROCESS + 500),
      FLEET_BROKER_PUBLISHES_PER_CLIENT_PER_SEC: '0',
    },
  }).catch(async (error: unknown) => {
    await redis.stop();
    throw error;
  });
  try {
    const brokerNodes: Array<{ child: ChildHandle; url: string }> = [{ child: stack.broker, url: stack.brokerUrl }];
    for (let i = 1; i < brokers; i++) brokerNodes.push(await stack.startBroker({ FLEET_BROKER_ID: `scale-${i}`, FLEET_BROKER_HOST: `127.0.0.${i + 2}`, FLEET_BROKER_PORT: '0' }));
    log(`brokers: ${brokerNodes.map((b) => b.url).join(' ')}`);
    const memoryBefore = await redisUsedMemory(redis.admin);

    // Provision (each simulator process its share), then register every public key.
    const shares = Array.from({ length: sims }, (_, i) => Math.floor(devices / sims) + (i < devices % sims ? 1 : 0));
    for (let i = 0; i < sims; i++) simProcesses.push(startSimProcess());
    const keys = await Promise.all(simProcesses.map(async (sim, i) => {
      const done = sim.next('provisioned');
      sim.child.send({ type: 'provision', index: i, count: shares[i]!, root: stack.root as RootEnvelope, vendorId: stack.vendorId, classId: stack.classId } satisfies ToChild);
      return (await done).devices;
    }));
    await stack.registerDevices(keys.flat());
    log(`provisioned and registered ${devices} devices`);
    const release = await stack.publishRelease({ releaseId: 'scale-1', version: '1.0.1', sequence: 1 });

    // Connect: simulator process i to broker node i mod brokers.
    const brokerRssBefore = await Promise.all(brokerNodes.map((b) => rssBytes(b.child.process.pid!)));
    const connectStart = performance.now();
    const connectedPerSim = await Promise.all(simProcesses.map(async (sim, i) => {
      const done = sim.next('connected');
      sim.child.send({ type: 'connect', brokerUrl: brokerNodes[i % brokers]!.url, concurrency: Number(values['connect-concurrency']) } satisfies ToChild);
      return (await done).connected;
    }));
    const connectSeconds = (performance.now() - connectStart) / 1000;
    const connected = connectedPerSim.reduce((a, b) => a + b, 0);
    const brokerRssAfter = await Promise.all(brokerNodes.map((b) => rssBytes(b.child.process.pid!)));
    const brokerBytesPerConnection = (brokerRssAfter.reduce((a, b) => a + b, 0) - brokerRssBefore.reduce((a, b) => a + b, 0)) / Math.max(1, connected);
    console.log(`connect      ${connected}/${devices} in ${connectSeconds.toFixed(1)} s: ${Math.round(connected / connectSeconds)} connects/s; broker RSS ${Math.round(brokerBytesPerConnection / 1024)} KiB per connection (load average ${load()})`);

    // Roll out in 3 waves; every wave must succeed whole before the next.
    const serverPids = [stack.orchestrator.process.pid!, ...brokerNodes.map((b) => b.child.process.pid!)];
    const cpuBefore = await cpuSeconds(serverPids);
    const redisBefore = await redisCpuSeconds(redis.admin);
    const loadStart = load();
    const started = performance.now();
    await stack.createRollout({ id: 'scale', releaseId: release.releaseId, target: { all: true }, waves: WAVES.map((percent) => ({ percent, successThreshold: 1, failureThreshold: 0 })) });
    const deadline = started + Number(values['timeout-minutes']) * 60_000;
    for (;;) {
      await sleep(2_000);
      const succeeded = simProcesses.reduce((n, s) => n + s.last.succeeded, 0);
      const failed = simProcesses.reduce((n, s) => n + s.last.failed, 0);
      const reconnects = simProcesses.reduce((n, s) => n + s.last.reconnects, 0);
      log(`succeeded ${succeeded}/${devices}, failed ${failed}, reconnects ${reconnects} (load average ${load()})`);
      if (succeeded >= devices) break;
      if (performance.now() > deadline) throw new Error(`not finished in ${values['timeout-minutes']} min: ${succeeded}/${devices} succeeded`);
    }
    const wallSeconds = (performance.now() - started) / 1000;
    // Exact counts, in the orchestrator's own view; the servers' CPU window ends once it settled.
    const view = await stack.waitForRollout('scale', (v) => v.status === 'completed', 1_800_000);
    const serverCpu = (await cpuSeconds(serverPids)) - cpuBefore + ((await redisCpuSeconds(redis.admin)) - redisBefore);
    const loadEnd = load();
    const memoryAfter = await redisUsedMemory(redis.admin);
    const orchestratorPeak = (await processUsage(stack.orchestrator.process.pid!))?.peakRssBytes ?? 0;
    const exact = view.counts.succeeded === devices && Object.entries(view.counts).every(([state, n]) => state === 'succeeded' || n === 0);
    console.log(
      `rollout      ${devices} devices in ${WAVES.length} waves: start -> all succeeded ${wallSeconds.toFixed(1)} s; orchestrator counts ${JSON.stringify(view.counts)} (${exact ? 'exact' : 'NOT exact'}); ` +
        `server CPU ${round((serverCpu * 1000) / devices, 3)} ms per device (orchestrator + ${brokers} brokers + Redis, ${round(serverCpu, 1)} CPU-s); ` +
        `Redis ${Math.round((memoryAfter - memoryBefore) / devices)} B per device; orchestrator peak RSS ${Math.round(orchestratorPeak / 2 ** 20)} MiB; load average ${loadStart} -> ${loadEnd}`,
    );
  } finally {
    await Promise.all(simProcesses.map(async (sim) => {
      if (sim.child.exitCode !== null) return;
      const stopped = sim.next('stopped').catch(() => undefined);
      sim.child.send({ type: 'stop' } satisfies ToChild);
      await timeLimit(stopped, 60_000, () => undefined);
      sim.child.kill('SIGKILL');
    }));
    await stack.close();
    await redis.stop();
  }
}

if (values['sim-child']) await runSimChild();
else await main();
