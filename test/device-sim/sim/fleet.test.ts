// The simulator against a real in-process Aedes and a real artifact server: ~200 devices
// with mixed failure profiles, then every profile once, driven by directives signed here.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePublicKey, directiveTopic, verifyStatusReport, type Policy } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { connectFleet, startFleet, type FleetHandle } from '../../../device-sim/sim/connect.js';
import { provisionFleet } from '../../../device-sim/sim/provision.js';
import type { Profile } from '../../../device-sim/sim/profiles.js';
import { ManualClock, waitFor } from '../support/fakes.js';
import { Observer, startTestBroker, type TestBroker } from '../support/broker.js';
import { startPayloadServer, type PayloadServer } from '../support/payload-server.js';
import { CLASS, directiveMessage, makeRelease, NOW, trustFixture, VENDOR } from '../support/trust.js';

const t = trustFixture();
let broker: TestBroker;
let observer: Observer;
let files: PayloadServer;

beforeAll(async () => {
  broker = await startTestBroker();
  observer = await Observer.connect(broker.url);
  files = await startPayloadServer();
});
afterAll(async () => {
  await observer.close();
  await broker.close();
  await files.close();
});

const EXPECTED: Record<Profile, string> = {
  'healthy': 'succeeded',
  'slow-network': 'succeeded',
  'flaky-network': 'succeeded',
  'offline-then-back': 'succeeded',
  'window-closed': 'succeeded',
  'clock-skew': 'succeeded',
  'download-failure': 'failed:download_failed',
  'install-failure': 'failed:install_failed',
  'health-check-failure': 'failed:health_check_failed',
  'declines-optional': 'rejected:declined',
};

async function rollOut(fleet: FleetHandle, path: string, policy: Policy): Promise<void> {
  const bytes = new Uint8Array(randomBytes(20_000));
  files.files.set(path, { bytes });
  const release = makeRelease(t, { payload: bytes, uri: files.url(path) });
  await Promise.all(fleet.devices.map((d, i) => observer.publishDirective(directiveTopic(d.id), directiveMessage(t, { deviceId: d.id, counter: i + 1, release, policy, rolloutId: 'sim-r1' }))));
}

function outcomes(fleet: FleetHandle): Map<string, string> {
  const last = new Map<string, string>();
  for (const { deviceId, report } of observer.reports) {
    if (!fleet.devices.some((d) => d.id === deviceId)) continue;
    if (['succeeded', 'failed', 'rejected'].includes(report.state)) last.set(deviceId, report.reason ? `${report.state}:${report.reason}` : report.state);
  }
  return last;
}

describe('simulated fleet', () => {
  it('runs 200 devices with failure profiles through a rollout', async () => {
    const fleet = await startFleet({
      count: 200, idPrefix: 'f200-', brokerUrl: broker.url, root: t.root, vendorId: VENDOR, classId: CLASS, seed: 42,
      profiles: 'healthy:60,install-failure:10,health-check-failure:10,download-failure:10,declines-optional:10',
      connectConcurrency: 50, tuning: { downloadFailureAfterMs: 20, deferRecheckMs: 100 },
    });
    expect(fleet.connected()).toBe(200);
    expect(fleet.counts()).toEqual({ idle: 200 });
    const byProfile = (p: Profile) => fleet.devices.filter((d) => d.profile === p).length;
    expect([byProfile('healthy'), byProfile('install-failure'), byProfile('declines-optional')]).toEqual([120, 20, 20]);
    const events: string[] = [];
    fleet.onReport((e) => events.push(e.report.state));
    await rollOut(fleet, '/fw-200.bin', { mode: 'optional' });
    await waitFor(() => outcomes(fleet).size === 200, 30_000, 'every device finished');
    const results = outcomes(fleet);
    for (const d of fleet.devices) expect(results.get(d.id), `${d.id} (${d.profile})`).toBe(EXPECTED[d.profile]);
    expect(fleet.counts()).toEqual({ idle: 0, succeeded: 120, failed: 60, rejected: 20 });
    expect(events.filter((s) => s === 'succeeded')).toHaveLength(120);
    // Every report on the wire verifies under the public key the registry would hold.
    const keys = new Map(fleet.devices.map((d) => [d.id, decodePublicKey(d.publicKey)!]));
    const mine = observer.reports.filter((r) => keys.has(r.deviceId));
    expect(mine.every((r) => verifyStatusReport(r.bytes, r.deviceId, keys.get(r.deviceId)!, nodeEd25519).ok)).toBe(true);
    await fleet.stop();
    expect(fleet.connected()).toBe(0);
  }, 90_000);

  it('runs every profile to its expected end', async () => {
    const clock = new ManualClock(NOW);
    const provisioned = await provisionFleet({
      count: 40, idPrefix: 'fall-', root: t.root, vendorId: VENDOR, classId: CLASS, seed: 3,
      profiles: Object.keys(EXPECTED).map((p) => `${p}:10`).join(','),
    });
    const again = await provisionFleet({ count: 40, idPrefix: 'fall-', root: t.root, vendorId: VENDOR, classId: CLASS, seed: 3, profiles: 'mixed', store: provisioned.store });
    expect(again.devices.map((d) => d.publicKey)).toEqual(provisioned.devices.map((d) => d.publicKey));
    const fleet = await connectFleet(provisioned, {
      brokerUrl: broker.url, clock, connectConcurrency: 40,
      tuning: {
        downloadFailureAfterMs: 20, deferRecheckMs: 50, windowOpensAfterSeconds: 60,
        flakyDropMinSeconds: 0.2, flakyDropMaxSeconds: 0.5, offlineAfterMaxSeconds: 0.1, offlineForMinSeconds: 0.3, offlineForMaxSeconds: 0.6,
        slowBytesPerSecond: 40_000,
      },
    });
    await rollOut(fleet, '/fw-all.bin', { mode: 'optional' });
    const windowClosed = fleet.devices.filter((d) => d.profile === 'window-closed').map((d) => d.id);
    await waitFor(() => windowClosed.every((id) => observer.reports.some((r) => r.deviceId === id && r.report.state === 'deferred')), 10_000, 'window-closed devices deferred');
    expect(fleet.counts().deferred).toBeGreaterThanOrEqual(4);
    clock.advance(300); // the device-local window opens
    await waitFor(() => outcomes(fleet).size === 40, 30_000, 'every device finished');
    const results = outcomes(fleet);
    for (const d of fleet.devices) expect(results.get(d.id), `${d.id} (${d.profile})`).toBe(EXPECTED[d.profile]);
    const offline = fleet.runtimes.filter((r) => r.profile === 'offline-then-back' || r.profile === 'flaky-network');
    expect(offline.every((r) => r.transport.stats.drops >= 1)).toBe(true);
    await fleet.stop();
  }, 60_000);
});
