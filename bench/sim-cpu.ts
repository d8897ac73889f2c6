// `npx tsx bench/sim-cpu.ts [--devices N] [--cpu-prof]`: what the simulated devices alone cost,
// CPU per device, for the full device flow of a successful install: connect (token signed,
// SUBSCRIBE, presence), receive the directive and run every check (two signatures, digests,
// counters), download the 1 KiB artifact over HTTP, report six signed states, each acknowledged.
// The broker is a plain Aedes and the directives are published by a helper process, the
// artifact served by it too: this process is the devices and nothing else, so its CPU time is
// theirs, steadier on a loaded machine than the full benchmark's wall time. Not a test: figures.
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { directiveTopic } from '../protocol/index.js';
import { connectFleet, provisionFleet } from '../device-sim/sim/index.js';
import { directiveMessage, makeRelease, trustFixture, VENDOR, CLASS } from '../test/device-sim/support/trust.js';
import { startBrokerChild } from './lib/broker-child.js';
import { startWindowProfiler } from './lib/sim-profile.js';
import { round } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    'cpu-prof': { type: 'boolean', default: false },
    helper: { type: 'boolean', default: false },
  },
});

/** Directives published but not yet acknowledged at once (as bench/lib/raw.ts). */
const PUBLISH_WINDOW = 100;
const ARTIFACT_BYTES = 1024;

type HelperMessage = { type: 'publish'; brokerUrl: string; file: string } | { type: 'stop' };
type HelperReply = { type: 'ready'; artifactUrl: string } | { type: 'published'; count: number };

/** The helper process: serves the artifact and publishes the directives, so neither costs the devices' process. */
async function runHelper(): Promise<void> {
  const artifact = Buffer.from(process.env.SIM_CPU_ARTIFACT!, 'base64');
  const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': artifact.length }).end(artifact));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const send = (reply: HelperReply) => process.send?.(reply);
  send({ type: 'ready', artifactUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fw.bin` });
  process.on('message', async (message: HelperMessage) => {
    if (message.type === 'stop') {
      server.close();
      process.exit(0);
    }
    const lines = (await readFile(message.file, 'utf8')).split('\n').filter(Boolean);
    const client = await mqtt.connectAsync(message.brokerUrl, { clientId: `sim-cpu-director-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0 });
    let next = 0;
    let acked = 0;
    await new Promise<void>((resolve, reject) => {
      const pump = () => {
        while (next - acked < PUBLISH_WINDOW && next < lines.length) {
          const [deviceId, payload] = lines[next++]!.split(' ');
          client.publish(directiveTopic(deviceId!), Buffer.from(payload!, 'base64'), { qos: 1, retain: true }, (error) => {
            if (error) return reject(error);
            if (++acked === lines.length) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    await client.endAsync();
    send({ type: 'published', count: lines.length });
  });
  process.on('disconnect', () => process.exit(0));
}

async function main(): Promise<void> {
  const devices = Number(values.devices);
  if (!Number.isInteger(devices) || devices < 1 || devices > 15_000) throw new Error('--devices must be 1..15000 (ulimit -n)');
  const load = () => round(loadavg()[0]!, 2);
  const trust = trustFixture();
  const artifact = new Uint8Array(randomBytes(ARTIFACT_BYTES));
  const helper = fork(fileURLToPath(import.meta.url), ['--helper'], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    env: { ...process.env, SIM_CPU_ARTIFACT: Buffer.from(artifact).toString('base64') },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const replies: HelperReply[] = [];
  const waiters: Array<() => void> = [];
  helper.on('message', (reply: HelperReply) => {
    replies.push(reply);
    for (const wake of waiters.splice(0)) wake();
  });
  const reply = async <T extends HelperReply['type']>(type: T): Promise<Extract<HelperReply, { type: T }>> => {
    for (;;) {
      const found = replies.find((r) => r.type === type);
      if (found) return found as Extract<HelperReply, { type: T }>;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  const broker = await startBrokerChild();
  const workDir = await mkdtemp(join(tmpdir(), 'fleet-ota-sim-cpu-'));
  try {
    const { artifactUrl } = await reply('ready');
    const release = makeRelease(trust, { payload: artifact, uri: artifactUrl, sequence: 1 });
    const fleet = await provisionFleet({ count: devices, idPrefix: 'simcpu-', root: trust.root, vendorId: VENDOR, classId: CLASS });
    // Signed before the clock starts: the director's work is not the devices'.
    const file = join(workDir, 'directives.txt');
    await writeFile(file, fleet.devices.map((d) => `${d.id} ${Buffer.from(directiveMessage(trust, { deviceId: d.id, counter: 1, release, rolloutId: 'sim-cpu' })).toString('base64')}\n`).join(''));

    const brokerUrl = `mqtt://127.0.0.1:${broker.port}`;
    process.stdout.write(`simulated devices alone, ${devices} devices, plain Aedes broker (load average ${load()} on 2 cores)\n`);
    let cpu = process.cpuUsage();
    let started = performance.now();
    const handle = await connectFleet(fleet, { brokerUrl, connectConcurrency: 200 });
    const connectCpu = process.cpuUsage(cpu);
    const connectMs = performance.now() - started;
    const connected = handle.connected();

    let succeeded = 0;
    let done: () => void = () => undefined;
    const allDone = new Promise<void>((resolve) => (done = resolve));
    handle.onReport(({ report }) => {
      if (report.state === 'succeeded' && ++succeeded === devices) done();
    });
    const attemptsBefore = handle.runtimes.reduce((n, r) => n + r.transport.stats.attempts, 0);
    const profiler = values['cpu-prof'] ? await startWindowProfiler() : undefined;
    const loadStart = load();
    cpu = process.cpuUsage();
    started = performance.now();
    helper.send({ type: 'publish', brokerUrl, file } satisfies HelperMessage);
    const timer = setTimeout(() => {
      process.stderr.write(`not finished after 15 min: ${succeeded}/${devices} succeeded\n`);
      process.exit(1);
    }, 900_000);
    await allDone;
    clearTimeout(timer);
    const rolloutCpu = process.cpuUsage(cpu);
    const rolloutMs = performance.now() - started;
    const loadEnd = load();
    const reconnects = handle.runtimes.reduce((n, r) => n + r.transport.stats.attempts, 0) - attemptsBefore;
    const profilePath = profiler ? new URL(`./results/sim-cpu-${new Date().toISOString().replace(/[:.]/g, '-')}.cpuprofile`, import.meta.url).pathname : undefined;
    if (profiler) await profiler.stop(profilePath!);
    await handle.stop();

    const ms = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;
    const result = {
      devices,
      connected,
      connectSeconds: round(connectMs / 1000, 2),
      connectCpuMsPerDevice: round(ms(connectCpu) / devices, 3),
      rolloutSeconds: round(rolloutMs / 1000, 2),
      rolloutCpuMsPerDevice: round(ms(rolloutCpu) / devices, 3),
      /** The kernel's share (socket syscalls: one write per MQTT packet sent, one read per packet received). */
      rolloutSystemCpuMsPerDevice: round(rolloutCpu.system / 1000 / devices, 3),
      reconnectsDuringRollout: reconnects,
      loadAverage: { start: loadStart, end: loadEnd },
      node: process.version,
    };
    process.stdout.write(
      `connect      ${connected}/${devices} in ${result.connectSeconds} s, ${result.connectCpuMsPerDevice} ms CPU per device\n` +
        `rollout      directive -> succeeded for all in ${result.rolloutSeconds} s, ${result.rolloutCpuMsPerDevice} ms CPU per device ` +
        `(of which kernel ${result.rolloutSystemCpuMsPerDevice} ms; ${reconnects} reconnects; load average ${loadStart} -> ${loadEnd})${profilePath ? `; profile ${profilePath}` : ''}\n${JSON.stringify(result)}\n`,
    );
  } finally {
    helper.send({ type: 'stop' } satisfies HelperMessage);
    await broker.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

if (values.helper) await runHelper();
else await main();
