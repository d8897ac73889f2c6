// The directive reconciler in one process: real Redis, broker and orchestrator, and scripted
// devices that stay silent (notified, never settled) and keep every directive byte delivered. A sweep republishes byte-identical; once a directive is in
// the last quarter of its life, a sweep gives the device a fresh one (new counter, new expiry).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { parseWireTime } from '../../../protocol/index.js';
import { scriptedFleet } from '../../support/scripted-device.js';

const TTL_SECONDS = 8;
let stack: LocalStack;
const scripted = scriptedFleet(() => stack);

beforeAll(async () => {
  // The periodic sweep (60 s) does not come round during the test: it runs each sweep itself.
  stack = await startLocalStack({ engine: { tickMs: 100 } });
});

afterAll(async () => {
  await scripted.close();
  await stack?.close();
});

describe('directive reconciler', () => {
  it('republishes unsettled devices\' directives byte-identical, and renews them near expiry', async () => {
    const devices = await scripted.add('recon', 6, () => 'silent', ['g-recon']);
    const releaseId = await scripted.release();
    const created = await stack.createRollout({ releaseId, target: { groups: ['g-recon'] }, directiveTtlSeconds: TTL_SECONDS, waves: [{ percent: 100, deviceTimeoutSeconds: 300 }] });
    await stack.waitForRollout(created.id, (v) => v.counts.notified === 6);
    await expect.poll(() => devices.every((d) => d.received.length === 1 && d.plans.length === 1)).toBe(true);

    const first = await stack.orchestrator.reconciler.sweep();
    expect(first).toEqual({ republished: 6, reissued: 0 });
    await expect.poll(() => devices.every((d) => d.received.length === 2)).toBe(true);
    for (const device of devices) expect(device.received[1]!.equals(device.received[0]!)).toBe(true);

    // In the directive's last quarter: the device has not started on it, so it gets a fresh one.
    const issuedAt = parseWireTime(devices[0]!.plans[0]!.directive.issuedAt)!;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (issuedAt + TTL_SECONDS * 0.75 + 1) * 1000 - Date.now())));
    const second = await stack.orchestrator.reconciler.sweep();
    expect(second).toEqual({ republished: 0, reissued: 6 });
    await expect.poll(() => devices.every((d) => d.plans.length === 2)).toBe(true);
    for (const device of devices) {
      const [old, fresh] = device.plans.map((p) => p.directive);
      expect(fresh!.counter).toBeGreaterThan(old!.counter);
      expect(parseWireTime(fresh!.expiresAt)!).toBeGreaterThan(parseWireTime(old!.expiresAt)!);
      const entry = await stack.orchestrator.store.state.deviceEntry(created.id, device.id);
      expect(entry).toMatchObject({ state: 'notified', counter: fresh!.counter });
    }
    const view = await stack.rollout(created.id);
    expect(view.counts).toEqual({ notified: 6 });
  });
});
