// `npx tsx bench/ingest.ts [--devices N]`: status reports per second verified and applied by 1
// and by 2 orchestrator processes (`fleet-ota serve` children on one broker and one Redis, the
// ingestion group splitting the intake shards between them), and the orchestrators' CPU for the
// whole rollout (notify + ingest) in each case. A rollout to N registered (not connected) devices
// is created; once every device is notified, 6 signed reports per device (accepted ... succeeded)
// are appended straight to the devices' intake shards, as the broker's edge write does, and the
// clock runs until the rollout shows N succeeded. The edge write itself is measured by the
// rollout benchmark (npm run bench); the bridge by bench/intake.ts.
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { buildStatusBody, encodePublicKey, encodeStatusReport, formatWireTime, signingKeyFromSeed, statusTopic } from '../protocol/index.js';
import { nodeEd25519 } from '../node-crypto/ed25519.js';
import { DEFAULT_INTAKE_SHARDS, intakeStreamKey, shardOf } from '../state/intake/index.js';
import { RolloutState } from '../state/rollouts/rollout-state.js';
import { processUsage, startProcessStack, type ChildHandle } from '../test/support/process-stack.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '10000' } } });
const count = Number(values.devices);
if (!Number.isInteger(count) || count < 1) {
  process.stderr.write('usage: bench/ingest.ts [--devices N]\n');
  process.exit(2);
}

interface Run {
  processes: number;
  reports: number;
  ingestSeconds: number;
  cpuSeconds: number;
  outcomes: Record<string, string>;
}

async function cpuOf(children: ChildHandle[]): Promise<number> {
  let total = 0;
  for (const child of children) total += (await processUsage(child.process.pid!))?.cpuSeconds ?? 0;
  return total;
}

async function run(processes: number): Promise<Run> {
  const stack = await startProcessStack({ prefix: `bench:ingest:${randomBytes(4).toString('hex')}:` });
  try {
    const orchestrators = [stack.orchestrator];
    for (let i = 1; i < processes; i++) orchestrators.push((await stack.addOrchestrator()).child);
    const devices = Array.from({ length: count }, (_, i) => ({ id: `ing-${i}`, key: signingKeyFromSeed(new Uint8Array(randomBytes(32)), nodeEd25519) }));
    for (let i = 0; i < devices.length; i += 5_000) {
      await stack.registerDevices(devices.slice(i, i + 5_000).map((d) => ({ id: d.id, publicKey: encodePublicKey(d.key.publicKey) })));
    }
    const release = await stack.publishRelease({ releaseId: 'ing-1', version: '1.0.0', sequence: 1 });
    // Let the ingestion group settle its shard split before the clock starts.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const cpuBefore = await cpuOf(orchestrators);
    const rollout = await stack.createRollout({ id: 'ingest-bench', releaseId: release.releaseId, target: { all: true }, waves: [{ percent: 100, successThreshold: 1, deviceTimeoutSeconds: 3600 }] });
    await stack.waitForRollout(rollout.id, (v) => (v.counts.notified ?? 0) === count, 300_000);
    const entries = await new RolloutState(stack.redis, stack.prefix).entriesWithIssued(rollout.id, devices.map((d) => d.id));
    const counters = new Map(devices.map((d, i) => [d.id, entries[i]!.entry?.counter ?? 0]));
    // Built before the clock: the measured part is ingestion, not the devices' signing.
    const states = ['accepted', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded'] as const;
    const at = formatWireTime(Date.now() / 1000);
    const reports: Array<[string, string, Buffer]> = [];
    for (const [seq, state] of states.entries()) {
      for (const d of devices) {
        const body = buildStatusBody({ deviceId: d.id, rolloutId: rollout.id, counter: counters.get(d.id)!, seq: seq + 1, state, ...(state === 'downloading' ? { progress: 100 } : {}), installed: { releaseId: 'factory', sequence: 0 }, rootVersion: 1, at });
        reports.push([intakeStreamKey(stack.prefix, shardOf(d.id, DEFAULT_INTAKE_SHARDS)), statusTopic(d.id), Buffer.from(encodeStatusReport(body, d.key, nodeEd25519))]);
      }
    }
    const started = performance.now();
    for (let i = 0; i < reports.length; i += 1_000) {
      const pipe = stack.redis.pipeline();
      for (const [key, topic, payload] of reports.slice(i, i + 1_000)) pipe.xadd(key, '*', 't', topic, 'p', payload, 'r', Date.now());
      await pipe.exec();
    }
    await stack.waitForRollout(rollout.id, (v) => (v.counts.succeeded ?? 0) === count, 900_000);
    const ingestSeconds = (performance.now() - started) / 1000;
    const cpuSeconds = (await cpuOf(orchestrators)) - cpuBefore;
    const outcomes = await stack.redis.hgetall(`${stack.prefix}ingest:outcomes`);
    return { processes, reports: reports.length, ingestSeconds, cpuSeconds, outcomes };
  } finally {
    await stack.close();
  }
}

const runs: Run[] = [];
for (const processes of [1, 2]) {
  const r = await run(processes);
  runs.push(r);
  console.log(`ingest, ${r.processes} orchestrator process(es): ${r.reports} status reports verified and applied in ${r.ingestSeconds.toFixed(2)} s = ${Math.round(r.reports / r.ingestSeconds)} reports/s; orchestrator CPU for the rollout ${r.cpuSeconds.toFixed(2)} s; outcomes ${JSON.stringify(r.outcomes)}`);
}
const [one, two] = runs as [Run, Run];
console.log(`2 vs 1 process: reports/s ×${((two.reports / two.ingestSeconds) / (one.reports / one.ingestSeconds)).toFixed(2)} (goal ≥ 1.8), orchestrator CPU ×${(two.cpuSeconds / one.cpuSeconds).toFixed(2)} (goal ≤ 1.1); load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
