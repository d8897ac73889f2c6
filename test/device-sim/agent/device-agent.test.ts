// DeviceAgent happy path, report signing and ordering, progress throttling, outbox across a
// disconnect, root rotation: with fake transport, fetcher and slots.
import { describe, expect, it } from 'vitest';
import { nobleEd25519, verifyStatusReport } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { deviceKeyOf } from '../../../device-sim/agent/device-state.js';
import { FakeFetcher, FakeTransport, waitFor } from '../support/fakes.js';
import { Harness } from '../support/harness.js';

const done = (h: Harness) => () => h.transport.reports.some((r) => ['succeeded', 'failed', 'rejected'].includes(r.state));

describe.each([nobleEd25519, nodeEd25519])('agent happy path ($name backend)', (ed25519) => {
  it('reports every state in order, commits and switches the active slot', async () => {
    const h = new Harness({ ed25519 });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(done(h));
    expect(h.transport.states()).toEqual([
      'accepted', 'downloading:0', 'downloading:10', 'downloading:20', 'downloading:30', 'downloading:40', 'downloading:50',
      'downloading:60', 'downloading:70', 'downloading:80', 'downloading:90', 'downloading:100', 'verifying', 'installing', 'rebooting', 'succeeded',
    ]);
    const seqs = h.transport.reports.map((r) => r.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const last = h.transport.reports.at(-1)!;
    expect(last).toMatchObject({ rolloutId: 'r-1', counter: 1, installed: { releaseId: 'fw-1', sequence: 1 }, rootVersion: 1 });
    const record = h.record();
    expect(record).toMatchObject({ activeSlot: 'B', counter: 1, installed: { releaseId: 'fw-1', sequence: 1 }, job: null });
    expect(record.slots.B).toMatchObject({ committed: true, releaseId: 'fw-1' });
    expect(h.slots.bootView()).toMatchObject({ committed: 'B', trial: undefined, image: { sha256: record.slots.B!.sha256 } });
    await waitFor(() => h.record().outbox.length === 0, 5000, 'outbox drained');
    await h.agent.stop();
  });
});

describe('agent reports', () => {
  it('signs every report with the device key, verifiable by the orchestrator', async () => {
    const h = new Harness();
    const published: Uint8Array[] = [];
    const transport = h.transport;
    const original = transport.publishStatus.bind(transport);
    transport.publishStatus = async (bytes) => {
      published.push(bytes);
      return original(bytes);
    };
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(done(h));
    const publicKey = deviceKeyOf(h.record(), nodeEd25519).publicKey;
    expect(published.length).toBeGreaterThan(5);
    for (const bytes of published) expect(verifyStatusReport(bytes, h.deviceId, publicKey, nodeEd25519).ok).toBe(true);
    expect(verifyStatusReport(published[0]!, 'dev-2', publicKey, nodeEd25519)).toEqual({ ok: false, refusal: 'wrong_topic' });
    await h.agent.stop();
  });

  it('throttles progress to every N percent', async () => {
    const h = new Harness({ agent: { config: { progressStepPercent: 25 } } });
    h.fetcher = new FakeFetcher(h.payload, 20);
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(done(h));
    expect(h.transport.states().filter((s) => s.startsWith('downloading'))).toEqual(['downloading:0', 'downloading:25', 'downloading:50', 'downloading:75', 'downloading:100']);
    await h.agent.stop();
  });

  it('reports progress after T seconds even below N percent', async () => {
    const h = new Harness({ agent: { config: { progressStepPercent: 50, progressIntervalSeconds: 1 } } });
    const fetcher = h.fetcher;
    const original = fetcher.fetch.bind(fetcher);
    // Each chunk takes 2 s of device time.
    fetcher.fetch = (request) => original({ ...request, onProgress: (n) => { h.clock.advance(2); request.onProgress?.(n); } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(done(h));
    expect(h.transport.states().filter((s) => s.startsWith('downloading'))).toEqual(
      ['downloading:0', ...[10, 20, 30, 40, 50, 60, 70, 80, 90, 100].map((p) => `downloading:${p}`)],
    );
    await h.agent.stop();
  });

  it('queues reports while offline and sends them in order on reconnect, none lost', async () => {
    const h = new Harness();
    h.transport = new FakeTransport(false);
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(() => h.record().job === null && h.record().outbox.length > 0, 5000, 'job done offline');
    expect(h.transport.reports).toHaveLength(0);
    const queued = h.record().outbox.map((e) => e.seq);
    h.transport.failPublishes = 1; // the first PUBACK is lost: that report is retried
    h.transport.connect();
    await waitFor(() => h.record().outbox.length === 0, 5000, 'outbox drained');
    expect(h.transport.reports.map((r) => r.seq)).toEqual(queued);
    expect(h.transport.reports.at(-1)!.state).toBe('succeeded');
    await h.agent.stop();
  });

  it('persists seq: a restarted agent continues above the last one', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(done(h));
    await h.agent.stop();
    const lastSeq = h.record().statusSeq;
    h.transport = new FakeTransport();
    await h.boot();
    h.transport.deliver(h.message({ counter: 2, release: h.release({ sequence: 1 }) }));
    await waitFor(done(h));
    expect(h.transport.reports[0]).toMatchObject({ state: 'succeeded', seq: lastSeq + 1, counter: 2 });
    await h.agent.stop();
  });

  it('follows a root rotation carried in the message and persists the new root', async () => {
    const h = new Harness();
    await h.boot();
    // Root v2 hands the director role to another key.
    h.transport.deliver(h.message({ counter: 1, roots: [h.t.root2], rootVersion: 2, signer: h.t.keys.stranger }));
    await waitFor(done(h));
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'succeeded', rootVersion: 2 });
    expect(h.record().root.version).toBe(2);
    // The old director key no longer counts.
    h.transport.deliver(h.message({ counter: 2, release: h.release({ sequence: 2 }) }));
    await waitFor(() => h.transport.reports.at(-1)!.counter === 2);
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'rejected', reason: 'directive_signature' });
    await h.agent.stop();
  });
});
