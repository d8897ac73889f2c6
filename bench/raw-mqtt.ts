// `npx tsx bench/raw-mqtt.ts --devices 10000`: the raw-limit half of the benchmark on its own.
// Prints one line a person reads (stderr gets progress), then the result as JSON on stdout.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { describeRawResult, RAW_DEFAULTS, runRawBenchmark } from './lib/raw.js';

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1) {
    process.stderr.write(`raw-mqtt: --${name} expects a positive integer\n`);
    process.exit(2);
  }
  return Number(text);
}

const { values } = parseArgs({
  options: {
    devices: { type: 'string' },
    'connect-concurrency': { type: 'string' },
    'publish-window': { type: 'string' },
    'no-retain': { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(
    'usage: npx tsx bench/raw-mqtt.ts [--devices N] [--connect-concurrency N] [--publish-window N] [--no-retain] [--json FILE]\n' +
      `defaults: --devices ${RAW_DEFAULTS.devices} --connect-concurrency ${RAW_DEFAULTS.connectConcurrency} --publish-window ${RAW_DEFAULTS.publishWindow}, directives retained\n`,
  );
  process.exit(0);
}

const result = await runRawBenchmark({
  devices: integer('devices', values.devices, RAW_DEFAULTS.devices),
  connectConcurrency: integer('connect-concurrency', values['connect-concurrency'], RAW_DEFAULTS.connectConcurrency),
  publishWindow: integer('publish-window', values['publish-window'], RAW_DEFAULTS.publishWindow),
  retainDirectives: !values['no-retain'],
  onProgress: (p) => process.stderr.write(p.phase === 'connecting' ? `connected ${p.connected}/${p.total}\n` : `done ${p.devicesDone}/${p.total}\n`),
});
process.stdout.write(`${describeRawResult(result)}\n${JSON.stringify(result, null, 2)}\n`);
if (values.json) writeFileSync(values.json, `${JSON.stringify(result, null, 2)}\n`);
