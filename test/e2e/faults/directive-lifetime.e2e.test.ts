// Fault suite, directives over time (issue 12 parts 5 and 6): `fleet-ota broker` and
// `fleet-ota serve` as child processes, simulated devices in this process. A device away longer
// than its directive lives comes back and still updates; a device away past its wave's timeout
// comes back to a cancel, not a late install; a rollout whose devices a newer one took over
// completes instead of pausing.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle, type ProvisionedFleet, type SimDevice } from '../../../device-sim/sim/index.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../../support/process-stack.js';
import { ReportLog } from '../support/report-log.js';
import { rolloutDevices, waitUntil } from '../support/stack-probes.js';

const ROLLOUT_WAIT_MS = 60_000;
const fleets: FleetHandle[] = [];
let stack: ProcessStack;
let seed = 20;

beforeAll(async () => {
  stack = await startProcessStack({ prefix: `test:faults:ttl:${randomBytes(6).toString('hex')}:` });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

async function provision(count: number, idPrefix: string): Promise<ProvisionedFleet> {
  const fleet = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: seed++, count, idPrefix, profiles: 'healthy' });
  await stack.registerDevices(fleet.devices);
  return fleet;
}

async function connect(fleet: ProvisionedFleet, devices: readonly SimDevice[], log: ReportLog): Promise<FleetHandle> {
  // The log hears reports from the first: a device whose directive waits for it may finish before connectFleet returns.
  const handle = await connectFleet({ ...fleet, devices: [...devices] }, { brokerUrl: stack.brokerUrl, connectConcurrency: 20, onReport: log.record });
  fleets.push(handle);
  expect(handle.connected()).toBe(devices.length);
  return handle;
}

const ids = (devices: readonly SimDevice[]) => devices.map((d) => d.id);

describe('directives over time', () => {
  it('a device away longer than its directive lives gets a fresh one when it returns, and completes the rollout', async () => {
    const fleet = await provision(12, 'ttl-');
    const [present, away] = [fleet.devices.slice(0, 8), fleet.devices.slice(8)];
    const log = new ReportLog();
    await connect(fleet, present, log);
    const { releaseId } = await stack.publishRelease({ releaseId: `rel-ttl-${randomBytes(3).toString('hex')}`, version: '2.0.0', sequence: 2 });
    const created = await stack.createRollout({
      releaseId,
      target: { deviceIds: ids(fleet.devices) },
      directiveTtlSeconds: 5,
      waves: [{ percent: 100, successThreshold: 1, failureThreshold: 0, deviceTimeoutSeconds: 300 }],
    });
    const createdAt = Date.now();
    await stack.waitForRollout(created.id, (v) => v.counts.succeeded === 8 && v.counts.notified === 4, ROLLOUT_WAIT_MS);
    const before = await rolloutDevices(stack.api, created.id);
    // Away for longer than the directive lives: what the broker retained for them has expired.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, createdAt + 6_500 - Date.now())));

    await connect(fleet, away, log);
    const done = await stack.waitForRollout(created.id, (v) => v.status !== 'running', ROLLOUT_WAIT_MS);
    expect({ status: done.status, counts: done.counts }).toEqual({ status: 'completed', counts: { succeeded: 12 } });
    const after = await rolloutDevices(stack.api, created.id);
    for (const id of ids(away)) {
      // A fresh directive: a newer counter than the expired one, and that is what the device installed under.
      expect(after.get(id)!.counter).toBeGreaterThan(before.get(id)!.counter);
      expect(log.last(id, created.id)).toMatchObject({ state: 'succeeded', counter: after.get(id)!.counter });
    }
    for (const id of ids(present)) expect(after.get(id)!.counter).toBe(before.get(id)!.counter);
  }, 120_000);

  it('a device away past its wave\'s timeout comes back to a cancel: no install outside its wave', async () => {
    const fleet = await provision(10, 'late-');
    const [present, away] = [fleet.devices.slice(0, 8), fleet.devices.slice(8)];
    const log = new ReportLog();
    await connect(fleet, present, log);
    const { releaseId } = await stack.publishRelease({ releaseId: `rel-late-${randomBytes(3).toString('hex')}`, version: '3.0.0', sequence: 3 });
    const created = await stack.createRollout({
      releaseId,
      target: { deviceIds: ids(fleet.devices) },
      waves: [{ percent: 100, successThreshold: 0.8, failureThreshold: 0.2, deviceTimeoutSeconds: 3 }],
    });
    const done = await stack.waitForRollout(created.id, (v) => v.status !== 'running', ROLLOUT_WAIT_MS);
    expect({ status: done.status, counts: done.counts }).toEqual({ status: 'completed', counts: { succeeded: 8, timed_out: 2 } });

    const handle = await connect(fleet, away, log);
    const agents = handle.runtimes.map((r) => r.agent);
    // Each takes the directive the broker retained for it (its record's counter moves on).
    await waitUntil(() => agents.every((a) => a.snapshot().counter > 0), 30_000, 'the returning devices to take their retained directive');
    for (const agent of agents) {
      expect(agent.snapshot().job).toBeNull();
      expect(agent.snapshot().installed).toEqual({ releaseId: 'factory', sequence: 0 });
    }
    // Nothing reported for the rollout: the retained message was its cancel, not the install.
    for (const id of ids(away)) expect(log.of(id, created.id)).toEqual([]);
    const entries = await rolloutDevices(stack.api, created.id);
    expect(ids(away).map((id) => entries.get(id)!.state)).toEqual(['timed_out', 'timed_out']);
  }, 120_000);

  it('a rollout whose devices a newer rollout took over completes', async () => {
    const fleet = await provision(10, 'sup-');
    const log = new ReportLog();
    await connect(fleet, fleet.devices, log);
    const { releaseId } = await stack.publishRelease({ releaseId: `rel-sup-${randomBytes(3).toString('hex')}`, version: '4.0.0', sequence: 4 });
    const target = { deviceIds: ids(fleet.devices) };
    const older = await stack.createRollout({ releaseId, target, start: false });
    const newer = await stack.createRollout({ releaseId, target });
    await stack.waitForRollout(newer.id, (v) => v.status === 'completed', ROLLOUT_WAIT_MS);

    await stack.api('POST', `/v1/rollouts/${older.id}/start`, {});
    const done = await stack.waitForRollout(older.id, (v) => v.status !== 'running', ROLLOUT_WAIT_MS);
    expect({ status: done.status, counts: done.counts, reasons: done.reasons }).toEqual({ status: 'completed', counts: { canceled: 10 }, reasons: { superseded: 10 } });
  }, 120_000);
});
