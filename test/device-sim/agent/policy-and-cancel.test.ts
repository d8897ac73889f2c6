// Policy (window, consent, deadline, deferral) and cancel / supersede of work in flight.
import { describe, expect, it } from 'vitest';
import { formatWireTime } from '../../../protocol/index.js';
import { waitFor } from '../support/fakes.js';
import { Harness } from '../support/harness.js';
import { NOW } from '../support/trust.js';

// NOW is 12:00 UTC.
const closedWindow = { start: '13:00', end: '14:00' };
const terminal = (h: Harness) => () => ['succeeded', 'failed', 'rejected'].includes(h.transport.reports.at(-1)?.state ?? '');

describe('policy', () => {
  it('defers outside the maintenance window and proceeds once it opens', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'auto', window: closedWindow } }));
    await waitFor(() => h.transport.reports.length === 1);
    expect(h.transport.states()).toEqual(['deferred']);
    expect(h.record().job?.step).toBe('deferred');
    await h.agent.recheck();
    expect(h.transport.reports).toHaveLength(1);
    h.clock.advance(3600);
    await h.agent.recheck();
    await waitFor(terminal(h));
    expect(h.transport.states().filter((s) => !s.startsWith('downloading'))).toEqual(['deferred', 'accepted', 'verifying', 'installing', 'rebooting', 'succeeded']);
    await h.agent.stop();
  });

  it('re-evaluates on its own timer', async () => {
    const h = new Harness({ agent: { config: { deferRecheckMs: 20 } } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'auto', window: closedWindow } }));
    await waitFor(() => h.transport.reports.length === 1);
    h.clock.advance(3600);
    await waitFor(terminal(h));
    expect(h.transport.reports.at(-1)!.state).toBe('succeeded');
    await h.agent.stop();
  });

  it('optional: waits for consent, then installs', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'optional' } }));
    await waitFor(() => h.transport.reports.length === 1);
    expect(h.transport.states()).toEqual(['deferred']);
    await h.agent.setConsent('granted');
    await waitFor(terminal(h));
    expect(h.transport.reports.at(-1)!.state).toBe('succeeded');
    await h.agent.stop();
  });

  it('optional: a declined update is rejected with `declined`', async () => {
    const h = new Harness({ agent: { consent: () => 'declined' } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'optional' } }));
    await waitFor(terminal(h));
    expect(h.transport.states()).toEqual(['rejected:declined']);
    expect(h.record().counter).toBe(1);
    // Auto updates are not a matter of consent.
    h.transport.deliver(h.message({ counter: 2, rolloutId: 'r-2' }));
    await waitFor(() => h.transport.reports.at(-1)!.state === 'succeeded');
    await h.agent.stop();
  });

  it('optional: declining after deferral ends it', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'optional' } }));
    await waitFor(() => h.transport.reports.length === 1);
    await h.agent.setConsent('declined');
    expect(h.transport.states()).toEqual(['deferred', 'rejected:declined']);
    expect(h.record().job).toBeNull();
    await h.agent.stop();
  });

  it('forced: ignores consent, honours the window until the deadline passes', async () => {
    const h = new Harness({ agent: { consent: () => 'declined' } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'forced', window: closedWindow, deadline: formatWireTime(NOW + 600) } }));
    await waitFor(() => h.transport.reports.length === 1);
    expect(h.transport.states()).toEqual(['deferred']);
    h.clock.advance(600);
    await h.agent.recheck();
    await waitFor(terminal(h));
    expect(h.transport.reports.at(-1)!.state).toBe('succeeded');
    await h.agent.stop();
  });

  it('a device-local window defers too', async () => {
    const h = new Harness({ agent: { localWindow: closedWindow } });
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(() => h.transport.reports.length === 1);
    expect(h.transport.states()).toEqual(['deferred']);
    h.clock.advance(3600);
    await h.agent.recheck();
    await waitFor(terminal(h));
    await h.agent.stop();
  });

  it('a deferral that outlives the directive ends as directive_expired', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'optional' }, expiresAt: formatWireTime(NOW + 60) }));
    await waitFor(() => h.transport.reports.length === 1);
    h.clock.advance(61);
    await h.agent.recheck();
    expect(h.transport.states()).toEqual(['deferred', 'rejected:directive_expired']);
    await h.agent.stop();
  });

  it('a deferred job survives a restart and resumes', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'auto', window: closedWindow } }));
    await waitFor(() => h.transport.reports.length === 1);
    await h.agent.stop();
    h.clock.advance(3600);
    await h.boot();
    await waitFor(terminal(h));
    expect(h.transport.reports.at(-1)!.state).toBe('succeeded');
    await h.agent.stop();
  });
});

describe('cancel and supersede', () => {
  it('cancel stops a download; nothing more is reported for that rollout', async () => {
    const h = new Harness();
    let release!: () => void;
    h.fetcher.gate = new Promise((resolve) => (release = resolve));
    await h.boot();
    h.transport.deliver(h.message({ counter: 1 }));
    await waitFor(() => h.transport.states().includes('downloading:10'));
    h.transport.deliver(h.message({ counter: 2, action: 'cancel' }));
    await waitFor(() => h.record().counter === 2, 5000, 'cancel processed');
    release();
    await h.agent.recheck();
    expect(h.transport.states()).toEqual(['accepted', 'downloading:0', 'downloading:10']);
    expect(h.record()).toMatchObject({ job: null, activeSlot: 'A', counter: 2 });
    expect(h.slots.stats.installs).toBe(0);
    await h.agent.stop();
  });

  it('cancel of another rollout leaves the job alone', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'optional' } }));
    await waitFor(() => h.transport.reports.length === 1);
    h.transport.deliver(h.message({ counter: 2, action: 'cancel', rolloutId: 'r-other' }));
    await h.agent.recheck();
    expect(h.record().job).toMatchObject({ rolloutId: 'r-1', step: 'deferred' });
    await h.agent.stop();
  });

  it('a newer install directive supersedes a deferred one', async () => {
    const h = new Harness();
    await h.boot();
    h.transport.deliver(h.message({ counter: 1, policy: { mode: 'optional' } }));
    await waitFor(() => h.transport.reports.length === 1);
    h.transport.deliver(h.message({ counter: 2, rolloutId: 'r-2', release: h.release({ sequence: 2 }) }));
    await waitFor(terminal(h));
    expect(h.transport.reports.at(-1)).toMatchObject({ state: 'succeeded', rolloutId: 'r-2', installed: { sequence: 2 } });
    await h.agent.stop();
  });
});
