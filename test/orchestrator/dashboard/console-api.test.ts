// What the console relies on from the API, on the real stack: an abort emits the settled counts
// (queued -> canceled) as a rollout.counts event, and rollout reads carry the event log's
// position (x-event-id) so the console can skip replayed events its view already holds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { compareStreamIds } from '../../../orchestrator/events/sse-format.js';
import { EventLog } from '../../../orchestrator/events/event-log.js';
import { randomDeviceKey } from '../helpers.js';

const DEVICES = 12;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ engine: { tickMs: 100 } });
  await stack.registerDevices(Array.from({ length: DEVICES }, (_, i) => ({ id: `capi-${String(i).padStart(2, '0')}`, publicKey: randomDeviceKey() })));
}, 60_000);

afterAll(async () => {
  await stack?.close();
}, 30_000);

describe('console API contract', () => {
  it('an abort emits the canceled counts, and rollout reads say which events they already hold', async () => {
    await stack.publishRelease({ releaseId: 'capi-rel', version: '1.0.0', sequence: 1 });
    const created = await stack.createRollout({ releaseId: 'capi-rel', target: { all: true }, waves: [{ percent: 50 }, { percent: 100 }], start: false });
    expect(created.counts).toEqual({ queued: DEVICES });
    await stack.api('POST', `/v1/rollouts/${created.id}/abort`, { reason: 'not today' });

    const events = (await new EventLog(stack.redis, stack.prefix).since('0-0', 10_000)).filter((e) => (e.event as { rolloutId?: string }).rolloutId === created.id);
    const counts = events.filter((e) => e.event.type === 'rollout.counts');
    const last = counts.at(-1);
    expect(last?.event).toMatchObject({ counts: { canceled: DEVICES } });
    expect((last?.event as { counts: Record<string, number> }).counts.queued ?? 0).toBe(0);
    // The counts come before the status change, so a console showing "aborted" has them.
    const aborted = events.findIndex((e) => e.event.type === 'rollout.aborted');
    expect(events.indexOf(last!)).toBeLessThan(aborted);

    for (const path of [`/v1/rollouts/${created.id}`, '/v1/rollouts?limit=5']) {
      const reply = await fetch(`${stack.apiUrl}${path}`, { headers: { authorization: `Bearer ${stack.readToken}` } });
      expect(reply.status).toBe(200);
      const position = reply.headers.get('x-event-id');
      expect(position).toMatch(/^\d+-\d+$/);
      // Read before the body: every event of this rollout so far is at or before it.
      expect(compareStreamIds(position!, events.at(-1)!.id)).toBeGreaterThanOrEqual(0);
    }
  }, 60_000);
});
