// `npm run bench [-- --devices N] [-- --cpu-prof]`: the raw MQTT limit and a fleet-ota rollout to
// the same N devices, one run, printed and written to bench/results/. Not a test: figures.
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { benchEnvironment } from './lib/environment.js';
import { runFleetBenchmark } from './lib/fleet.js';
import { describeRawResult, runRawBenchmark } from './lib/raw.js';
import { round } from './lib/stats.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '10000' }, 'cpu-prof': { type: 'boolean', default: false }, 'skip-raw': { type: 'boolean', default: false } } });
const devices = Number(values.devices);
if (!Number.isInteger(devices) || devices < 1 || devices > 15_000) {
  console.error('--devices must be 1..15000 (the simulator holds one socket per device, the broker another; ulimit -n is ~20,000)');
  process.exit(2);
}
const log = (text: string) => process.stderr.write(`  ${text}\n`);
const resultsDir = new URL('./results/', import.meta.url);
await mkdir(resultsDir, { recursive: true });

console.log(`fleet-ota benchmark, ${devices} devices`);
const raw = values['skip-raw'] ? undefined : await runRawBenchmark({ devices, onProgress: (p) => p.phase === 'connecting' && p.connected % 2000 === 0 && log(`raw: ${p.connected}/${p.total} connected`) });
if (raw) console.log(`raw MQTT     ${describeRawResult(raw)}`);
const fleet = await runFleetBenchmark({
  devices,
  onProgress: (text) => log(`fleet-ota: ${text}`),
  ...(values['cpu-prof'] ? { orchestratorNodeArgs: ['--cpu-prof', `--cpu-prof-dir=${new URL('./results/', import.meta.url).pathname}`] } : {}),
});
const ratio = raw ? round(fleet.devicesPerSecond / raw.devicesPerSecond, 2) : undefined;
console.log(
  `fleet-ota    ${fleet.devices} devices to succeeded in ${(fleet.wallMs / 1000).toFixed(1)} s (${fleet.devicesPerSecond} devices/s); ` +
    `notify->succeeded p50 ${fleet.notifyToSucceededMs.p50} ms, p99 ${fleet.notifyToSucceededMs.p99} ms; ` +
    `orchestrator CPU ${fleet.orchestrator.cpuSeconds} s (${fleet.orchestrator.cpuPercentOfOneCore}% of a core), peak RSS ${(fleet.orchestrator.peakRssBytes / 2 ** 20).toFixed(0)} MiB; ` +
    `broker CPU ${fleet.broker.cpuSeconds} s; simulated devices CPU ${fleet.simulator.cpuSeconds} s; Redis ${fleet.redis.usedBytesPerDevice} B/device`,
);
if (ratio !== undefined) console.log(`ratio        fleet-ota / raw = ${ratio} (devices per second)`);
const file = new URL(`./results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
await writeFile(file, `${JSON.stringify({ devices, raw, fleet, ratio, environment: benchEnvironment() }, null, 2)}\n`);
console.log(`results      ${file.pathname}`);
