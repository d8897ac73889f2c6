// Every refusal and failure path of the agent: each check's reason code reported as
// `rejected`, each step's failure as `failed` with the active slot untouched.
import { describe, expect, it } from 'vitest';
import { formatWireTime } from '../../../protocol/index.js';
import { FakeFetcher, waitFor } from '../support/fakes.js';
import { Harness } from '../support/harness.js';
import { makeRelease, NOW } from '../support/trust.js';

const settled = (h: Harness, n = 1) => () => h.transport.reports.filter((r) => ['succeeded', 'failed', 'rejected'].includes(r.state)).length >= n;

async function expectUntouched(h: Harness): Promise<void> {
  const record = h.record();
  expect(record.activeSlot).toBe('A');
  expect(record.installed).toEqual({ releaseId: 'factory', sequence: 0 });
  expect(record.job).toBeNull();
  expect(h.slots.bootView()).toMatchObject({ committed: 'A', trial: undefined, image: { sha256: record.slots.A!.sha256 } });
  await h.agent.stop();
}

describe('check failures are reported as rejected with the reason code', () => {
  const cases: Array<[string, (h: Harness) => Uint8Array]> = [
    ['directive_signature', (h) => h.message({ counter: 1, signer: h.t.keys.stranger })],
    ['not_addressed', (h) => h.message({ counter: 1, deviceId: 'dev-other' })],
    ['directive_expired', (h) => h.message({ counter: 1, expiresAt: formatWireTime(NOW - 1) })],
    ['digest_mismatch', (h) => h.message({ counter: 1, manifestSha256: '0'.repeat(64) })],
    ['wrong_target', (h) => h.message({ counter: 1, release: h.release({ classId: 'gw-2' }) })],
    ['release_expired', (h) => h.message({ counter: 1, release: h.release({ expiresAt: formatWireTime(NOW - 1) }) })],
    ['root_invalid', (h) => h.message({ counter: 1, roots: [{ ...h.t.root2, signatures: [] }] })],
  ];
  it.each(cases)('%s', async (reason, make) => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(make(h));
    await waitFor(settled(h));
    expect(h.transport.reports).toHaveLength(1);
    expect(h.transport.reports[0]).toMatchObject({ state: 'rejected', reason, rolloutId: 'r-1', counter: 1 });
    expect(h.record().counter).toBe(0);
    expect(h.fetcher.calls).toBe(0);
    await expectUntouched(h);
  });

  it('release_signature (a manifest signed by a key the release role does not list)', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, release: makeRelease(h.t, { payload: h.payload }, h.t.keys.director) }));
    await waitFor(settled(h));
    expect(h.transport.reports[0]).toMatchObject({ state: 'rejected', reason: 'release_signature' });
    await expectUntouched(h);
  });

  it('rollback and needs_intermediate are judged against the installed sequence', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, release: h.release({ sequence: 5 }) }));
    await waitFor(settled(h));
    h.transport.deliver(h.message({ counter: 2, rolloutId: 'r-2', release: h.release({ sequence: 4 }) }));
    h.transport.deliver(h.message({ counter: 3, rolloutId: 'r-3', release: h.release({ sequence: 9, minSequence: 7 }) }));
    await waitFor(settled(h, 3));
    expect(h.transport.reports.slice(-2)).toMatchObject([
      { state: 'rejected', reason: 'rollback', counter: 2 },
      { state: 'rejected', reason: 'needs_intermediate', counter: 3 },
    ]);
    expect(h.record().installed.sequence).toBe(5);
    await h.agent.stop();
  });

  it('replayed: an older counter is refused; the same counter again is a duplicate, processed once', async () => {
    const h = new Harness();
    await h.boot();
    const first = h.message({ counter: 5 });
    h.transport.deliver(first);
    h.transport.deliver(first); // QoS 1 redelivery while the job runs
    await waitFor(settled(h));
    h.transport.deliver(first); // the retained copy after a reconnect
    h.transport.deliver(h.message({ counter: 4, rolloutId: 'r-0' }));
    await waitFor(settled(h, 2));
    expect(h.transport.states().filter((s) => !s.startsWith('downloading'))).toEqual(['accepted', 'verifying', 'installing', 'rebooting', 'succeeded', 'rejected:replayed']);
    expect(h.agent.counters.duplicates).toBe(2);
    expect(h.fetcher.calls).toBe(1);
    await h.agent.stop();
  });

  it('a refused directive redelivered is reported once', async () => {
    const h = new Harness();
    await h.boot();
    const bad = h.message({ counter: 1, release: h.release({ classId: 'other' }) });
    h.transport.deliver(bad);
    h.transport.deliver(bad);
    await waitFor(settled(h));
    await h.agent.recheck();
    expect(h.transport.reports).toHaveLength(1);
    expect(h.agent.counters.repeated).toBe(1);
    await h.agent.stop();
  });

  it('a message without a readable rollout id or counter is counted, not reported', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(new TextEncoder().encode('{"not":"a directive"}'));
    h.transport.deliver(new Uint8Array(70 * 1024)); // too_large
    h.transport.deliver(new Uint8Array([0xff, 0xfe]));
    await h.agent.recheck();
    expect(h.agent.counters.unreportable).toBe(3);
    expect(h.transport.reports).toHaveLength(0);
    await h.agent.stop();
  });

  it('a malformed message that names its rollout is reported as bad_schema', async () => {
    const h = new Harness();
    await h.boot();
    const message = JSON.parse(new TextDecoder().decode(h.message({ counter: 1 })));
    message.directive.signed.extra = 1;
    h.transport.deliver(new TextEncoder().encode(JSON.stringify(message)));
    await waitFor(settled(h));
    expect(h.transport.reports[0]).toMatchObject({ state: 'rejected', reason: 'bad_schema', counter: 1 });
    await h.agent.stop();
  });

  it('an equal sequence is reported succeeded without download', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, release: h.release({ sequence: 0, releaseId: 'factory' }) }));
    await waitFor(settled(h));
    expect(h.transport.states()).toEqual(['succeeded']);
    expect(h.fetcher.calls).toBe(0);
    expect(h.record().counter).toBe(1);
    await h.agent.stop();
  });
});

describe('step failures are reported as failed and leave the active slot alone', () => {
  it('download_failed', async () => {
    const h = new Harness();
    h.fetcher.behaviour = 'fail';
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(settled(h));
    expect(h.transport.states()).toEqual(['accepted', 'downloading:0', 'failed:download_failed']);
    expect(h.record().counter).toBe(1);
    await expectUntouched(h);
  });

  it('size_exceeded', async () => {
    const h = new Harness();
    h.fetcher.behaviour = 'oversize';
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(settled(h));
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'failed', reason: 'size_exceeded' });
    await expectUntouched(h);
  });

  it('hash_mismatch', async () => {
    const h = new Harness();
    h.fetcher.behaviour = 'other-bytes';
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(settled(h));
    expect(h.transport.states().slice(-2)).toEqual(['verifying', 'failed:hash_mismatch']);
    expect(h.slots.stats.installs).toBe(0);
    await expectUntouched(h);
  });

  it('install_failed: the torn inactive slot is never booted', async () => {
    const h = new Harness({ slots: { failInstall: true } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(settled(h));
    expect(h.transport.states().slice(-2)).toEqual(['installing', 'failed:install_failed']);
    expect(h.slots.contentOf('B')?.sha256).toBe('torn');
    expect(h.record().slots.B).toBeNull();
    await expectUntouched(h);
  });

  it('health_check_failed: reverts to the old slot', async () => {
    const h = new Harness({ slots: { failHealthCheck: true } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(settled(h));
    expect(h.transport.states().slice(-3)).toEqual(['installing', 'rebooting', 'failed:health_check_failed']);
    expect(h.slots.stats.reverts).toBe(1);
    await expectUntouched(h);
  });

  it('an empty payload downloads, verifies and installs', async () => {
    const h = new Harness({ payload: new Uint8Array(0) });
    h.fetcher = new FakeFetcher(new Uint8Array(0));
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(settled(h));
    expect(h.transport.reports.at(-1)!.state).toBe('succeeded');
    await h.agent.stop();
  });
});
