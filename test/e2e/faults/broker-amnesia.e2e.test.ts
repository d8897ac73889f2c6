// Fault suite, desired state (issue 12 part 1): the broker is SIGKILLed mid-rollout and comes
// back with an empty memory (in-memory persistence: every retained directive gone). Devices
// that were notified while away still converge, on the very directive they were sent, because
// the orchestrator republishes it from Redis; no outcome depends on the broker's memory.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle, type ProvisionedFleet, type SimDevice } from '../../../device-sim/sim/index.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../../support/process-stack.js';
import { ReportLog } from '../support/report-log.js';
import { rolloutDevices } from '../support/stack-probes.js';

/** A broker that keeps nothing across a restart (the broker's default keeps retained messages in Redis). */
const AMNESIAC_BROKER = { FLEET_BROKER_PERSISTENCE: 'memory' } as const;
const fleets: FleetHandle[] = [];
let stack: ProcessStack;

beforeAll(async () => {
  stack = await startProcessStack({ prefix: `test:faults:amnesia:${randomBytes(6).toString('hex')}:`, brokerEnv: AMNESIAC_BROKER });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(fleets.map((f) => f.stop()));
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

async function connect(fleet: ProvisionedFleet, devices: readonly SimDevice[], log: ReportLog): Promise<FleetHandle> {
  // The log hears reports from the first: a device whose directive waits for it may finish before connectFleet returns.
  const handle = await connectFleet({ ...fleet, devices: [...devices] }, { brokerUrl: stack.brokerUrl, connectConcurrency: 20, onReport: log.record });
  fleets.push(handle);
  expect(handle.connected()).toBe(devices.length);
  return handle;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${stack.apiUrl}/metrics`, { headers: { authorization: `Bearer ${stack.operatorToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return Number(line?.split(' ').at(-1) ?? 0);
}

describe('broker restart without its memory', () => {
  it('devices notified before the restart get the same directive again and the rollout completes', async () => {
    const fleet = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 31, count: 20, idPrefix: 'amn-', profiles: 'healthy' });
    await stack.registerDevices(fleet.devices);
    const [present, away] = [fleet.devices.slice(0, 10), fleet.devices.slice(10)];
    const log = new ReportLog();
    await connect(fleet, present, log);
    const { releaseId } = await stack.publishRelease({ releaseId: 'rel-amnesia', version: '2.0.0', sequence: 2 });
    const created = await stack.createRollout({
      releaseId,
      target: { deviceIds: fleet.devices.map((d) => d.id) },
      waves: [{ percent: 100, successThreshold: 1, failureThreshold: 0, deviceTimeoutSeconds: 300 }],
    });
    // The away devices' directives exist only as retained messages on the broker now.
    await stack.waitForRollout(created.id, (v) => v.counts.succeeded === 10 && v.counts.notified === 10, 60_000);
    const before = await rolloutDevices(stack.api, created.id);

    await stack.restartBroker();
    await connect(fleet, away, log);
    const done = await stack.waitForRollout(created.id, (v) => v.status !== 'running', 60_000);
    expect({ status: done.status, counts: done.counts }).toEqual({ status: 'completed', counts: { succeeded: 20 } });
    const after = await rolloutDevices(stack.api, created.id);
    for (const device of away) {
      // Republished, not reissued: the counter allocated at notification is the one installed under.
      expect(after.get(device.id)!.counter).toBe(before.get(device.id)!.counter);
      expect(log.last(device.id, created.id)).toMatchObject({ state: 'succeeded', counter: before.get(device.id)!.counter });
    }
    expect(await metric('fleet_directives_reconciled_total', 'kind="republished"')).toBeGreaterThanOrEqual(10);
  }, 120_000);
});
