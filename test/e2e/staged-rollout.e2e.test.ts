// End to end, as deployed: `fleet-ota broker` and `fleet-ota serve` as child processes on
// loopback with real Redis, simulated devices in this process over real MQTT and HTTP. A staged
// rollout to 200 devices pauses at a failure threshold and finishes after a fix and a resume; an
// orchestrator killed with SIGKILL mid-wave is restarted and finishes the rollout exactly; status
// reports sent while it is down reach the restarted one (README: the broker writes each report to
// its intake shard before the PUBACK).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle, type ProvisionedFleet, type SimDevice } from '../../device-sim/sim/index.js';
import { simulatedAttributes } from '../../device-sim/sim/device-kit.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../support/process-stack.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import { ReportLog } from './support/report-log.js';
import { startLagProxy, type LagProxy } from './support/start-lag-proxy.js';
import { freePort, orchestratorReady, registryRecords, rolloutDevices, tallyStates, waitUntil } from './support/stack-probes.js';

const TEST_TIMEOUT_MS = 120_000;
const CONNECT = { connectConcurrency: 50 } as const;
const TERMINAL = new Set(['succeeded', 'failed', 'rejected', 'timed_out', 'canceled']);
/** The orchestrator's link to the broker holds the broker's first burst of each connection. */
const LINK_LAG = { quietMs: 500, maxHoldMs: 5_000 } as const;

let stack: ProcessStack;
let proxy: LagProxy | undefined;
const fleets: FleetHandle[] = [];

beforeAll(async () => {
  const [brokerPort, httpPort] = [await freePort(), await freePort()];
  proxy = await startLagProxy(brokerPort, LINK_LAG);
  stack = await startProcessStack({
    prefix: `test:e2e:${randomBytes(6).toString('hex')}:`,
    brokerEnv: { FLEET_BROKER_PORT: String(brokerPort) },
    // A fixed HTTP port: artifact URIs inside signed releases name it, and a restarted
    // orchestrator must serve them where devices were told to look. Its MQTT link goes through
    // the lag proxy; devices connect to the broker directly.
    orchestratorEnv: { FLEET_HTTP_PORT: String(httpPort), FLEET_BROKER_URL: proxy.url },
  });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
  await proxy?.close();
}, STACK_HOOK_TIMEOUT_MS);

async function connect(fleet: ProvisionedFleet, log: ReportLog): Promise<FleetHandle> {
  const handle = await connectFleet(fleet, { brokerUrl: stack.brokerUrl, ...CONNECT, onReport: log.record });
  fleets.push(handle);
  expect(handle.connected()).toBe(fleet.devices.length);
  return handle;
}

const ids = (devices: readonly SimDevice[]) => devices.map((d) => d.id);
const settled = (counts: RolloutView['counts']) => Object.entries(counts).every(([state, n]) => !n || TERMINAL.has(state));

/** The orchestrator's per-device entries equal what each device last reported, counter included. */
async function expectEntriesMatchDevices(rolloutId: string, log: ReportLog, deviceIds: readonly string[], view: RolloutView): Promise<void> {
  const entries = await rolloutDevices(stack.api, rolloutId);
  expect(entries.size).toBe(deviceIds.length);
  for (const id of deviceIds) {
    const entry = entries.get(id)!;
    const last = log.last(id, rolloutId)!;
    expect({ id, state: entry.state, counter: entry.counter, reason: entry.reason }).toEqual({ id, state: last.state, counter: last.counter, reason: last.reason ?? '' });
  }
  // The rollout's counters are the sum of its devices' states.
  expect(tallyStates(entries.values())).toEqual(view.counts);
}

describe('staged rollout across processes', () => {
  it('pauses at the failure threshold before the next wave; resume after the fix finishes it with exact counts', async () => {
    const common = { root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 9 };
    const bad = await provisionFleet({ ...common, count: 20, idPrefix: 'st-bad-', profiles: 'install-failure' });
    const ok = await provisionFleet({ ...common, count: 180, idPrefix: 'st-ok-', profiles: 'healthy' });
    await stack.registerDevices([...bad.devices, ...ok.devices]);
    const canaryBad = bad.devices.slice(0, 10);
    const laterBad = bad.devices.slice(10);
    const canaries = [...ids(canaryBad), ...ids(ok.devices.slice(0, 10))];
    const everyone = [...ids(bad.devices), ...ids(ok.devices)];

    const log = new ReportLog();
    const okFleet = await connect(ok, log);
    await connect({ ...bad, devices: canaryBad }, log);
    const laterBadFleet = await connect({ ...bad, devices: laterBad }, log);

    const release = await stack.publishRelease({ releaseId: 'st-rel-1', version: '1.1.0', sequence: 1 });
    const rolloutId = 'st-staged';
    const created = await stack.createRollout({
      id: rolloutId,
      releaseId: release.releaseId,
      target: { deviceIds: everyone },
      // Wave 0: 10 failing canaries of 20, far above 20 %; later waves keep the defaults.
      waves: [{ deviceIds: canaries, failureThreshold: 0.2 }, { percent: 50 }, { percent: 100 }],
    });
    expect(created.waves.map((w) => w.size)).toEqual([20, 80, 100]);

    // Paused, and wave 0 settled (devices notified before the halt still finish and report).
    const paused = await stack.waitForRollout(rolloutId, (v) => v.status === 'paused' && settled(v.waves[0]!.counts), 60_000);
    expect(paused.statusReason).toMatch(/failure threshold/);
    expect(paused.currentWave).toBe(0);
    expect(paused.waves[0]!.counts).toEqual({ succeeded: 10, failed: 10 });
    expect(paused.waves[0]!.reasons).toEqual({ install_failed: 10 });
    // The next waves were never notified: the orchestrator says queued, the devices sent nothing.
    expect(paused.waves.slice(1).map((w) => ({ status: w.status, counts: w.counts }))).toEqual([
      { status: 'pending', counts: { queued: 80 } },
      { status: 'pending', counts: { queued: 100 } },
    ]);
    expect(log.devicesReporting(rolloutId).sort()).toEqual([...canaries].sort());
    expect(okFleet.counts().idle).toBe(170);
    expect(laterBadFleet.counts().idle).toBe(10);

    // The fix: the 10 faulty devices not yet updated are repaired (same identity and record,
    // healthy slots) before the operator resumes. The 10 canaries that failed stay failed.
    await laterBadFleet.stop();
    await connect({ ...bad, devices: laterBad.map((d) => ({ ...d, profile: 'healthy' as const })) }, log);
    expect(log.devicesReporting(rolloutId).sort()).toEqual([...canaries].sort());

    const resumed = await stack.api<RolloutView>('POST', `/v1/rollouts/${rolloutId}/resume`, {});
    expect(resumed.status).toBe('running');
    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 90_000);
    expect(done.counts).toEqual({ succeeded: 190, failed: 10 });
    expect(done.reasons).toEqual({ install_failed: 10 });
    expect(done.waves.map((w) => w.counts)).toEqual([{ succeeded: 10, failed: 10 }, { succeeded: 80 }, { succeeded: 100 }]);

    // What the devices themselves reported agrees, device by device.
    expect(log.lastStates(rolloutId, everyone)).toEqual({ succeeded: 190, failed: 10 });
    expect(log.lastReasons(rolloutId, everyone)).toEqual({ install_failed: 10 });
    expect(everyone.filter((id) => log.last(id, rolloutId)?.state === 'failed').sort()).toEqual(ids(canaryBad).sort());
    await expectEntriesMatchDevices(rolloutId, log, everyone, done);

    // The registry shows what each device has installed, and it is what the device holds.
    const records = await registryRecords(stack.api, everyone);
    for (const id of everyone) {
      const held = (await bad.store.load(id)) ?? (await ok.store.load(id));
      const expected = log.last(id, rolloutId)!.state === 'succeeded' ? { releaseId: 'st-rel-1', sequence: 1 } : { releaseId: 'factory', sequence: 0 };
      expect({ id, releaseId: records.get(id)!.installedReleaseId, sequence: records.get(id)!.installedSequence }).toEqual({ id, ...expected });
      expect({ id, ...held!.installed }).toEqual({ id, ...expected });
    }
  }, TEST_TIMEOUT_MS);


  it('an orchestrator killed mid-wave is restarted and finishes the rollout exactly, one directive per device', async () => {
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 11, count: 200, idPrefix: 'cr-', profiles: 'healthy' });
    await stack.registerDevices(provisioned.devices);
    const everyone = ids(provisioned.devices);
    const log = new ReportLog();
    const fleet = await connect(provisioned, log);
    // Sequences are monotonic per class across the stack: this file's first test used 1.
    const release = await stack.publishRelease({ releaseId: 'cr-rel-2', version: '1.2.0', sequence: 2 });
    const rolloutId = 'cr-crash';

    // 15 devices a second: wave 1 (180) is notified in slices over ~12 s, so the kill lands mid-wave.
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone }, waves: [{ count: 20 }, { percent: 100 }], maxNotificationsPerMinute: 900 });
    await waitUntil(() => (log.lastStates(rolloutId, everyone).succeeded ?? 0) >= 40, 60_000, 'wave 1 under way', 10);
    // Devices keep working and reporting through the crash: what they send while the
    // orchestrator is down waits in the intake shards, written there by the broker.
    const before = await stack.api<RolloutView>('GET', `/v1/rollouts/${rolloutId}`);
    const victim = stack.orchestrator;
    await victim.kill();
    expect(victim.process.signalCode).toBe('SIGKILL');
    // Mid-wave: wave 0 done, wave 1 still notifying with devices queued.
    expect(before.currentWave).toBe(1);
    expect(before.waves[1]!.status).toBe('notifying');
    expect(before.waves[1]!.counts.queued ?? 0).toBeGreaterThan(0);

    await stack.restartOrchestrator();
    expect(stack.orchestrator).not.toBe(victim);
    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 100_000);
    expect(done.counts).toEqual({ succeeded: 200 });
    expect(done.waves.map((w) => w.counts)).toEqual([{ succeeded: 20 }, { succeeded: 180 }]);
    expect(log.lastStates(rolloutId, everyone)).toEqual({ succeeded: 200 });
    await expectEntriesMatchDevices(rolloutId, log, everyone, done);

    for (const runtime of fleet.runtimes) {
      const reports = log.of(runtime.id, rolloutId);
      // One directive per device: every report names the same counter, the device accepted
      // once and installed once, and the counter it holds is the orchestrator's.
      const counters = new Set(reports.map((r) => r.counter));
      expect({ id: runtime.id, counters: counters.size, accepted: reports.filter((r) => r.state === 'accepted').length, installs: runtime.slots.stats.installs })
        .toEqual({ id: runtime.id, counters: 1, accepted: 1, installs: 1 });
      expect(runtime.agent.snapshot().counter).toBe(reports[0]!.counter);
    }
    const records = await registryRecords(stack.api, everyone);
    expect([...records.values()].filter((r) => r.installedReleaseId === 'cr-rel-2' && r.installedSequence === 2)).toHaveLength(200);
    expect(await orchestratorReady(stack)).toMatchObject({ alive: true, status: 200 });
  }, TEST_TIMEOUT_MS);

  // Reports that arrive while no orchestrator runs are written to the intake shards by the broker
  // and applied by the next orchestrator, which claims what the dead one left pending first.
  it('status reports sent while the orchestrator is down reach the restarted orchestrator', async () => {
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 13, count: 20, idPrefix: 'dn-', profiles: 'healthy' });
    await stack.registerDevices(provisioned.devices);
    const everyone = ids(provisioned.devices);
    const log = new ReportLog();
    const fleet = await connect(provisioned, log);
    // Each device goes offline the moment it accepts, so every report after that, the terminal
    // one included, is sent only once the orchestrator is gone.
    const byId = new Map(fleet.runtimes.map((r) => [r.id, r]));
    fleet.onReport(({ deviceId, report }) => {
      if (report.state === 'accepted') byId.get(deviceId)!.transport.suspend();
    });
    const release = await stack.publishRelease({ releaseId: 'dn-rel-3', version: '1.3.0', sequence: 3 });
    const rolloutId = 'dn-down';
    await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: everyone } });
    await waitUntil(() => log.lastStates(rolloutId, everyone).succeeded === everyone.length, 60_000, 'every device to finish offline');
    await stack.orchestrator.kill();

    // Back online: each device delivers its outbox to the broker, which writes each report to
    // its intake shard before acknowledging it.
    for (const runtime of fleet.runtimes) runtime.transport.resume();
    await waitUntil(() => fleet.runtimes.every((r) => r.agent.snapshot().outbox.length === 0), 30_000, 'outboxes delivered to the broker');
    await stack.restartOrchestrator();
    const done = await stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 15_000);
    expect(done.counts).toEqual({ succeeded: 20 });
    await expectEntriesMatchDevices(rolloutId, log, everyone, done);
  }, TEST_TIMEOUT_MS);
});

describe('dynamic rollout across processes (issue 17 part 2)', () => {
  it('devices registered, re-tagged or given a matching attribute mid-rollout join its last wave and are counted; approve closes it', async () => {
    const common = { root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 31, profiles: 'healthy' } as const;
    const early = await provisionFleet({ ...common, count: 9, idPrefix: 'dy-a-' });
    const late = await provisionFleet({ ...common, count: 3, idPrefix: 'dy-b-' });
    const tagged = early.devices.slice(0, 5);
    const retagged = early.devices.slice(5, 8);
    const [attributed] = early.devices.slice(8);
    const register = async (devices: readonly SimDevice[], tags: string[]) => {
      for (const d of devices) await stack.api('POST', '/v1/devices', { id: d.id, publicKey: d.publicKey, vendorId: stack.vendorId, classId: stack.classId, tags });
    };
    await register(tagged, ['dyn-eu']);
    await register([...retagged, attributed!], []);
    const log = new ReportLog();
    await connect(early, log);

    const release = await stack.publishRelease({ releaseId: 'dy-rel-1', version: '1.4.0', sequence: 4 });
    const rolloutId = 'dy-dynamic';
    const created = await stack.createRollout({
      id: rolloutId,
      releaseId: release.releaseId,
      target: { query: 'tag==dyn-eu,attributes.ring==early' },
      waves: [{ count: 2 }, { percent: 100 }],
      dynamic: true,
    });
    expect(created.waves.map((w) => w.size)).toEqual([2, 3]);

    // While it runs: three devices re-tagged, one given the attribute, three registered anew.
    for (const d of retagged) await stack.api('PATCH', `/v1/devices/${d.id}`, { tags: ['dyn-eu'] });
    await stack.api('PATCH', `/v1/devices/${attributed!.id}`, { attributes: { ring: 'early' } });
    await register(late.devices, ['dyn-eu']);
    await connect(late, log);

    const everyone = [...ids(early.devices), ...ids(late.devices)];
    const open = await stack.waitForRollout(rolloutId, (v) => v.waves[1]!.status === 'awaiting_approval' && v.counts.succeeded === everyone.length, 90_000);
    expect(open.status).toBe('running');
    expect(open.total).toBe(12);
    expect(open.counts).toEqual({ succeeded: 12 });
    expect(open.waves.map((w) => ({ size: w.size, counts: w.counts }))).toEqual([{ size: 2, counts: { succeeded: 2 } }, { size: 10, counts: { succeeded: 10 } }]);
    const entries = await rolloutDevices(stack.api, rolloutId);
    for (const id of [...ids(retagged), attributed!.id, ...ids(late.devices)]) expect({ id, wave: entries.get(id)!.wave }).toEqual({ id, wave: 1 });
    await expectEntriesMatchDevices(rolloutId, log, everyone, open);

    // Their reports carried their attributes: the registry keeps them and queries find them.
    const records = await registryRecords(stack.api, everyone);
    for (const id of everyone) expect({ id, reported: records.get(id)!.reportedAttributes }).toEqual({ id, reported: simulatedAttributes(id, 'healthy') });
    const revB = everyone.filter((id) => simulatedAttributes(id, 'healthy').hwrev === 'B').sort();
    const found = await stack.api<{ devices: Array<{ id: string }> }>('GET', `/v1/devices?q=${encodeURIComponent('id==dy-*;hwrev==B;installed==dy-rel-1')}`);
    expect(found.devices.map((d) => d.id)).toEqual(revB);

    // The last wave is notified and waiting: devices registered now are notified on their own
    // and judged with it (it waits for them before it can complete).
    const later = await provisionFleet({ ...common, count: 2, idPrefix: 'dy-c-' });
    await register(later.devices, ['dyn-eu']);
    await connect(later, log);
    const all = [...everyone, ...ids(later.devices)];
    const grown = await stack.waitForRollout(rolloutId, (v) => v.counts.succeeded === all.length && v.waves[1]!.status === 'awaiting_approval', 60_000);
    expect(grown.waves.map((w) => w.size)).toEqual([2, 12]);
    expect(grown.counts).toEqual({ succeeded: 14 });
    await expectEntriesMatchDevices(rolloutId, log, all, grown);

    const closed = await stack.api<RolloutView>('POST', `/v1/rollouts/${rolloutId}/approve`, {});
    expect(closed.status).toBe('completed');
    expect(closed.total).toBe(14);
  }, TEST_TIMEOUT_MS);
});
