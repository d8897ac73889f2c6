// End to end, as deployed (broker and orchestrator as child processes, real Redis, devices in
// this process): an attacker who stole the orchestrator's broker credentials, but not the
// director key, publishes forged and replayed directives, retained at QoS 1, on every device's
// topic. The broker lets it (the credentials are valid); every device refuses with the right
// reason code, nothing is installed, and both processes stay healthy (docs/design.md#trust-model).
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle, type ProvisionedFleet } from '../../device-sim/sim/index.js';
import { ApiCallError } from '../../api-client/index.js';
import { startProcessStack, type ProcessStack, STACK_HOOK_TIMEOUT_MS } from '../support/process-stack.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import type { ReasonCode } from '../../protocol/index.js';
import { captureRetainedDirective, connectWithStolenCredentials, forgeDirectiveMessage, forgeRelease, publishDirectiveAs } from './support/attacker.js';
import { ReportLog } from './support/report-log.js';
import { freePort, orchestratorReady, registryRecords, waitUntil } from './support/stack-probes.js';

const TEST_TIMEOUT_MS = 120_000;
const DEVICES = 20;

let stack: ProcessStack;
let brokerHealthUrl: string;
let fleet: FleetHandle | undefined;
let attacker: MqttClient | undefined;

beforeAll(async () => {
  const metricsPort = await freePort();
  brokerHealthUrl = `http://127.0.0.1:${metricsPort}/healthz`;
  stack = await startProcessStack({
    prefix: `test:e2e:${randomBytes(6).toString('hex')}:`,
    brokerEnv: { FLEET_BROKER_METRICS_PORT: String(metricsPort), FLEET_BROKER_METRICS_HOST: '127.0.0.1' },
  });
}, STACK_HOOK_TIMEOUT_MS);

afterAll(async () => {
  await attacker?.endAsync().catch(() => undefined);
  await fleet?.stop();
  await stack?.close();
}, STACK_HOOK_TIMEOUT_MS);

async function rollOut(provisioned: ProvisionedFleet, rolloutId: string, releaseId: string, sequence: number): Promise<RolloutView> {
  const release = await stack.publishRelease({ releaseId, version: `1.${sequence}.0`, sequence });
  await stack.createRollout({ id: rolloutId, releaseId: release.releaseId, target: { deviceIds: provisioned.devices.map((d) => d.id) } });
  return stack.waitForRollout(rolloutId, (v) => v.status === 'completed', 60_000);
}

describe('an attacker with the orchestrator\'s broker credentials and no director key', () => {
  it('gets every device to refuse forged and replayed directives with the right reason; nothing is installed', async () => {
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, count: DEVICES, idPrefix: 'atk-', seed: 5 });
    const ids = provisioned.devices.map((d) => d.id);
    await stack.registerDevices(provisioned.devices);

    // A genuine directive to replay later: rollout 1 is published while the devices are still
    // offline, and read off each device's retained topic with the device's own key.
    const release1 = await stack.publishRelease({ releaseId: 'atk-rel-1', version: '1.1.0', sequence: 1 });
    await stack.createRollout({ id: 'atk-r1', releaseId: release1.releaseId, target: { deviceIds: ids } });
    await stack.waitForRollout('atk-r1', (v) => v.counts.notified === DEVICES, 30_000);
    const genuine = new Map<string, Buffer>();
    for (const id of ids) genuine.set(id, await captureRetainedDirective(stack.brokerUrl, (await provisioned.store.load(id))!, 10_000));
    for (const [id, bytes] of genuine) {
      expect(JSON.parse(bytes.toString()).directive.signed).toMatchObject({ deviceId: id, rolloutId: 'atk-r1' });
    }

    const log = new ReportLog();
    fleet = await connectFleet(provisioned, { brokerUrl: stack.brokerUrl, connectConcurrency: 20, onReport: log.record });
    expect((await stack.waitForRollout('atk-r1', (v) => v.status === 'completed', 60_000)).counts).toEqual({ succeeded: DEVICES });
    // Rollout 2 moves every device past the counter of rollout 1's directive.
    expect((await rollOut(provisioned, 'atk-r2', 'atk-rel-2', 2)).counts).toEqual({ succeeded: DEVICES });

    const runtimes = new Map(fleet.runtimes.map((r) => [r.id, r]));
    const baseline = new Map(ids.map((id) => {
      const runtime = runtimes.get(id)!;
      const record = runtime.agent.snapshot();
      return [id, { installed: record.installed, counter: record.counter, installs: runtime.slots.stats.installs, image: runtime.slots.bootView().image }];
    }));
    for (const b of baseline.values()) expect(b).toMatchObject({ installed: { releaseId: 'atk-rel-2', sequence: 2 }, installs: 2 });
    const registryBefore = await registryRecords(stack.api, ids);
    const attackStart = new Map(ids.map((id) => [id, log.of(id).length]));

    attacker = await connectWithStolenCredentials(stack.brokerUrl, stack.serviceAccount);
    const now = Math.floor(Date.now() / 1000);
    const forgery = forgeRelease(stack.vendorId, stack.classId, now);
    const directorKeyid = stack.root.signed.roles.director.keyids[0]!;
    const scenarios: Array<{ name: string; rolloutId: string; reason: ReasonCode; message: (id: string, index: number) => Uint8Array }> = [
      {
        name: 'directive signed by the attacker\'s own key',
        rolloutId: 'evil-a',
        reason: 'directive_signature',
        message: (id) => forgeDirectiveMessage({ deviceId: id, rolloutId: 'evil-a', counter: 1_000_000, nowSeconds: now, release: forgery.release, signers: [forgery.key] }),
      },
      {
        name: 'replay of the genuine directive of rollout 1',
        rolloutId: 'atk-r1',
        reason: 'replayed',
        message: (id) => genuine.get(id)!,
      },
      {
        name: 'no director signature, release signed by the attacker',
        rolloutId: 'evil-c',
        reason: 'directive_signature',
        message: (id) => forgeDirectiveMessage({ deviceId: id, rolloutId: 'evil-c', counter: 2_000_000, nowSeconds: now, release: forgery.release, signers: [] }),
      },
      {
        name: 'genuine directive of another device',
        rolloutId: 'atk-r1',
        reason: 'not_addressed',
        message: (_id, index) => genuine.get(ids[(index + 1) % ids.length]!)!,
      },
      {
        name: 'attacker\'s signature under the director\'s keyid',
        rolloutId: 'evil-e',
        reason: 'directive_signature',
        message: (id) => forgeDirectiveMessage({ deviceId: id, rolloutId: 'evil-e', counter: 3_000_000, nowSeconds: now, release: forgery.release, signers: [{ ...forgery.key, keyid: directorKeyid }] }),
      },
    ];

    for (const scenario of scenarios) {
      const mark = new Map(ids.map((id) => [id, log.of(id).length]));
      // The broker accepts every one of these (PUBACK): the credentials are genuine.
      await Promise.all(ids.map((id, index) => publishDirectiveAs(attacker!, id, scenario.message(id, index))));
      const fresh = (id: string) => log.of(id).slice(mark.get(id));
      await waitUntil(() => ids.every((id) => fresh(id).length > 0), 30_000, () => `every device to answer: ${scenario.name}`);
      for (const id of ids) {
        expect({ scenario: scenario.name, id, reports: fresh(id).map((r) => ({ state: r.state, rolloutId: r.rolloutId, reason: r.reason })) })
          .toEqual({ scenario: scenario.name, id, reports: [{ state: 'rejected', rolloutId: scenario.rolloutId, reason: scenario.reason }] });
      }
    }

    // Nothing was installed, or even started, anywhere.
    for (const id of ids) {
      const runtime = runtimes.get(id)!;
      const record = runtime.agent.snapshot();
      expect({ id, installed: record.installed, counter: record.counter, job: record.job, installs: runtime.slots.stats.installs, image: runtime.slots.bootView().image })
        .toEqual({ id, ...baseline.get(id)!, job: null });
      expect(log.of(id).slice(attackStart.get(id)).every((r) => r.state === 'rejected')).toBe(true);
    }
    const registryAfter = await registryRecords(stack.api, ids);
    for (const id of ids) {
      const before = registryBefore.get(id)!;
      const after = registryAfter.get(id)!;
      expect({ id, releaseId: after.installedReleaseId, sequence: after.installedSequence }).toEqual({ id, releaseId: before.installedReleaseId, sequence: before.installedSequence });
      expect(after.installedSequence).toBe(2);
    }
    // The genuine rollouts keep their outcome; the attacker's rollout ids exist nowhere.
    for (const id of ['atk-r1', 'atk-r2']) {
      expect((await stack.api<RolloutView>('GET', `/v1/rollouts/${id}`)).counts).toEqual({ succeeded: DEVICES });
    }
    for (const id of ['evil-a', 'evil-c', 'evil-e']) {
      const error = await stack.api('GET', `/v1/rollouts/${id}`).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiCallError);
      expect((error as ApiCallError).code).toBe('rollout_not_found');
    }

    // Both processes are up and ready.
    expect(await orchestratorReady(stack)).toEqual({ alive: true, status: 200, body: { status: 'ready' } });
    expect(stack.broker.process.exitCode).toBeNull();
    expect((await fetch(brokerHealthUrl)).status).toBe(200);

    // And the devices still take a genuine rollout: the forged counters never became theirs.
    expect((await rollOut(provisioned, 'atk-r3', 'atk-rel-3', 3)).counts).toEqual({ succeeded: DEVICES });
    for (const runtime of fleet.runtimes) expect(runtime.agent.snapshot().installed).toEqual({ releaseId: 'atk-rel-3', sequence: 3 });
  }, TEST_TIMEOUT_MS);
});
