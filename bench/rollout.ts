// `npm run bench [-- --devices N] [-- --cpu-prof] [-- --sim-cpu-prof] [-- --redis-url URL]`: the raw
// MQTT limit and a fleet-ota rollout to the same N devices, one run, printed and written to
// bench/results/. Not a test: figures (issue 16: server CPU per device against the floor measured
// in the same run, start -> all succeeded, notify -> succeeded). Never asserted.
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { measureCryptoFloor, SERVER_SIGNATURES_PER_DEVICE } from './lib/crypto-floor.js';
import { benchEnvironment } from './lib/environment.js';
import { runFleetBenchmark } from './lib/fleet.js';
import { describeRawResult, runRawBenchmark } from './lib/raw.js';
import { round } from './lib/stats.js';

const { values } = parseArgs({
  options: {
    devices: { type: 'string', default: '10000' },
    'cpu-prof': { type: 'boolean', default: false },
    'sim-cpu-prof': { type: 'boolean', default: false },
    'skip-raw': { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
  },
});
const devices = Number(values.devices);
if (!Number.isInteger(devices) || devices < 1 || devices > 15_000) {
  console.error('--devices must be 1..15000 (the simulator holds one socket per device, the broker another; ulimit -n is ~20,000)');
  process.exit(2);
}
const log = (text: string) => process.stderr.write(`  ${text}\n`);
const resultsDir = new URL('./results/', import.meta.url);
await mkdir(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const load = () => round(loadavg()[0]!, 2);

console.log(`fleet-ota benchmark, ${devices} devices (load average ${load()} on ${benchEnvironment().cpus} cores at the start)`);
const raw = values['skip-raw'] ? undefined : await runRawBenchmark({ devices, onProgress: (p) => p.phase === 'connecting' && p.connected % 2000 === 0 && log(`raw: ${p.connected}/${p.total} connected`) });
if (raw) console.log(`raw MQTT     ${describeRawResult(raw)}`);
const crypto = measureCryptoFloor();
console.log(`signatures   node:crypto Ed25519 sign ${crypto.signMs} ms, verify ${crypto.verifyMs} ms (warm key objects, load average ${load()})`);
const fleet = await runFleetBenchmark({
  devices,
  onProgress: (text) => log(`fleet-ota: ${text}`),
  ...(values['cpu-prof'] ? { orchestratorNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${new URL('./results/', import.meta.url).pathname}`] } : {}),
  ...(values['sim-cpu-prof'] ? { simProfilePath: new URL(`./results/sim-${stamp}.cpuprofile`, import.meta.url).pathname } : {}),
  ...(values['redis-url'] ? { redisUrl: values['redis-url'] } : {}),
});
const ratio = raw ? round(fleet.devicesPerSecond / raw.devicesPerSecond, 2) : undefined;
console.log(
  `fleet-ota    ${fleet.devices} devices: start -> all succeeded ${(fleet.wallMs / 1000).toFixed(1)} s (${fleet.devicesPerSecond} devices/s), orchestrator settled at ${(fleet.settledMs / 1000).toFixed(1)} s; ` +
    `notify->succeeded p50 ${fleet.notifyToSucceededMs.p50} ms, p99 ${fleet.notifyToSucceededMs.p99} ms; ` +
    `orchestrator CPU ${fleet.orchestrator.cpuSeconds} s (${fleet.orchestrator.cpuPercentOfOneCore}% of a core), peak RSS ${(fleet.orchestrator.peakRssBytes / 2 ** 20).toFixed(0)} MiB; ` +
    `broker CPU ${fleet.broker.cpuSeconds} s; Redis CPU ${fleet.redis.cpuSeconds} s (${fleet.redis.private ? 'private redis-server' : 'delta on a shared Redis, includes other clients'}), ${fleet.redis.usedBytesPerDevice} B/device; ` +
    `simulated devices CPU ${fleet.simulator.cpuSeconds} s; load average ${fleet.loadAverage.start} -> ${fleet.loadAverage.end}`,
);
// Issue 16 goal 1: server CPU per device against the floor measured in this run.
const rawBrokerMsPerDevice = raw ? round(raw.broker.cpuMs / raw.devices, 3) : undefined;
const floorMs = rawBrokerMsPerDevice !== undefined ? round(rawBrokerMsPerDevice + crypto.perDeviceMs, 3) : undefined;
const floorRatio = floorMs !== undefined ? round(floorMs / fleet.serverCpuMsPerDevice, 2) : undefined;
console.log(
  `server CPU   ${fleet.serverCpuMsPerDevice} ms per device (orchestrator + broker + Redis, rollout start -> orchestrator settled; goal <= 1.5)` +
    (floorMs !== undefined
      ? `; floor ${floorMs} ms = raw broker ${rawBrokerMsPerDevice} ms (1 directive + ${raw!.statusesPerDevice} statuses, QoS 1) + signatures ${crypto.perDeviceMs} ms ` +
        `(${SERVER_SIGNATURES_PER_DEVICE.signs} sign + ${SERVER_SIGNATURES_PER_DEVICE.verifies} verifies); floor / actual ${floorRatio} (goal >= 0.7)`
      : '; floor not measured (--skip-raw)'),
);
console.log(`simulator    ${fleet.simulator.cpuMsPerDevice} ms CPU per device (this process, over the rollout)`);
if (ratio !== undefined) console.log(`ratio        fleet-ota / raw = ${ratio} (devices per second)`);
const file = new URL(`./results/bench-${stamp}.json`, import.meta.url);
const floor = floorMs !== undefined ? { rawBrokerMsPerDevice, crypto, floorMsPerDevice: floorMs, floorOverActual: floorRatio } : { crypto };
await writeFile(file, `${JSON.stringify({ devices, raw, fleet, ratio, floor, environment: benchEnvironment() }, null, 2)}\n`);
console.log(`results      ${file.pathname}${values['sim-cpu-prof'] ? ` (simulator profile: sim-${stamp}.cpuprofile)` : ''}`);
