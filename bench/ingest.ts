// `npx tsx bench/ingest.ts [--devices N]`: how many status reports one orchestrator process
// verifies and applies per second. A rollout to N registered (not connected) devices is created;
// then 6 signed reports per device (accepted ... succeeded) are appended straight to the intake
// stream, and the time until the rollout shows N succeeded is measured. The MQTT intake in front
// of the stream is measured by the rollout benchmark (npm run bench).
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import { buildStatusBody, encodePublicKey, encodeStatusReport, formatWireTime, signingKeyFromSeed, statusTopic } from '../protocol/index.js';
import { nodeEd25519 } from '../node-crypto/ed25519.js';
import { startLocalStack } from '../launcher/demo/local-stack.js';
import { ingestStreamKey } from '../orchestrator/ingestion/intake.js';

const { values } = parseArgs({ options: { devices: { type: 'string', default: '10000' } } });
const count = Number(values.devices);
const stack = await startLocalStack();
try {
  const devices = Array.from({ length: count }, (_, i) => ({ id: `ing-${i}`, key: signingKeyFromSeed(new Uint8Array(randomBytes(32)), nodeEd25519) }));
  await stack.registerDevices(devices.map((d) => ({ id: d.id, publicKey: encodePublicKey(d.key.publicKey) })));
  const release = await stack.publishRelease({ releaseId: 'ing-1', version: '1.0.0', sequence: 1 });
  const notifyStart = performance.now();
  const rollout = await stack.createRollout({ id: 'ingest-bench', releaseId: release.releaseId, target: { all: true }, waves: [{ percent: 100, successThreshold: 1, deviceTimeoutSeconds: 3600 }] });
  await stack.waitForRollout(rollout.id, (v) => (v.counts.notified ?? 0) === count, 120_000);
  const notifySeconds = (performance.now() - notifyStart) / 1000;
  const entries = await stack.orchestrator.store.state.entriesWithIssued(rollout.id, devices.map((d) => d.id));
  const counters = new Map(devices.map((d, i) => [d.id, entries[i]!.entry?.counter ?? 0]));
  // Build every report first: the measured part is ingestion, not the devices' signing.
  const states = ['accepted', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded'] as const;
  const at = formatWireTime(Date.now() / 1000);
  const reports: Array<[string, Buffer]> = [];
  for (const [seq, state] of states.entries()) {
    for (const d of devices) {
      const body = buildStatusBody({ deviceId: d.id, rolloutId: rollout.id, counter: counters.get(d.id)!, seq: seq + 1, state, ...(state === 'downloading' ? { progress: 100 } : {}), installed: { releaseId: 'factory', sequence: 0 }, rootVersion: 1, at });
      reports.push([statusTopic(d.id), Buffer.from(encodeStatusReport(body, d.key, nodeEd25519))]);
    }
  }
  const key = ingestStreamKey(stack.prefix);
  const started = performance.now();
  for (let i = 0; i < reports.length; i += 1_000) {
    const pipe = stack.redis.pipeline();
    for (const [topic, payload] of reports.slice(i, i + 1_000)) pipe.xadd(key, '*', 't', topic, 'p', payload, 'r', Date.now());
    await pipe.exec();
  }
  await stack.waitForRollout(rollout.id, (v) => (v.counts.succeeded ?? 0) === count, 600_000);
  const seconds = (performance.now() - started) / 1000;
  console.log(`notify: ${count} devices signed, published and marked notified in ${notifySeconds.toFixed(2)} s (${Math.round(count / notifySeconds)} devices/s, no device connected)`);
  console.log(`ingest: ${reports.length} status reports verified and applied in ${seconds.toFixed(2)} s = ${Math.round(reports.length / seconds)} reports/s (one orchestrator process)`);
} finally {
  await stack.close();
}
