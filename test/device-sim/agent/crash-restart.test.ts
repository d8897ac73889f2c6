// Crash safety: the agent is killed at every persisted step boundary (right before and right
// after each save), restarted on the same record and slots, and the retained directive is
// redelivered. Checked on every save and at the end: the slot a power cycle boots holds a
// verified committed image; nothing reported is lost; success is reported only when reached.
import { describe, expect, it } from 'vitest';
import { isForwardTransition, type DeviceState, type StatusSigned } from '../../../protocol/index.js';
import type { DeviceRecord } from '../../../device-sim/agent/device-state.js';
import type { MemorySlotsOptions } from '../../../device-sim/agent/slots.js';
import { CrashStore, FakeFetcher, FakeTransport, waitFor, type FetchBehaviour } from '../support/fakes.js';
import { Harness } from '../support/harness.js';
import { sha256Hex } from '../support/trust.js';

interface Scenario {
  name: string;
  slots?: MemorySlotsOptions;
  fetch?: FetchBehaviour;
  final: string;
}

const scenarios: Scenario[] = [
  { name: 'healthy install', final: 'succeeded' },
  { name: 'health check fails', slots: { failHealthCheck: true }, final: 'failed:health_check_failed' },
  { name: 'install fails', slots: { failInstall: true }, final: 'failed:install_failed' },
  { name: 'hash mismatch', fetch: 'other-bytes', final: 'failed:hash_mismatch' },
];

function checkInvariant(h: Harness, verified: Set<string>) {
  return (record: DeviceRecord): void => {
    const active = record.slots[record.activeSlot];
    if (!active?.committed) throw new Error('active slot holds no committed image');
    if (!verified.has(active.sha256)) throw new Error('active slot image was never verified');
    // What a power cycle would boot right now.
    const boot = h.slots.bootView();
    if (!boot.image || !verified.has(boot.image.sha256)) throw new Error(`boot slot ${boot.committed} holds an unverified image`);
    // The bootloader follows the record; only while rebooting may it be ahead (committed the
    // healthy target before the record says so) or on trial.
    const rebooting = record.job?.step === 'rebooting';
    if (!rebooting && (boot.committed !== record.activeSlot || boot.trial !== undefined)) throw new Error('bootloader differs from the record');
    if (rebooting && boot.committed !== record.activeSlot && boot.committed !== record.job!.targetSlot) throw new Error('bootloader on a slot the record does not know');
  };
}

function label(r: StatusSigned): string {
  return r.reason ? `${r.state}:${r.reason}` : r.state;
}

async function runWithCrash(s: Scenario, crashAt: number, mode: 'before' | 'after'): Promise<{ h: Harness; reports: StatusSigned[]; saves: number; violations: string[] }> {
  const h = new Harness({ slots: s.slots });
  h.fetcher = new FakeFetcher(h.payload, 2);
  if (s.fetch) h.fetcher.behaviour = s.fetch;
  const verified = new Set([h.record().slots.A!.sha256, sha256Hex(h.payload)]);
  const violations: string[] = [];
  const guard = (record: DeviceRecord): void => {
    try {
      checkInvariant(h, verified)(record);
    } catch (error) {
      violations.push((error as Error).message);
    }
  };
  const message = h.message({ counter: 1 });
  const first = new CrashStore(h.store, crashAt, mode, guard);
  const transport1 = h.transport;
  const agent1 = await h.boot(first);
  transport1.deliver(message);
  const finished = (): boolean => { const r = h.record(); return r.counter === 1 && r.job === null && r.outbox.length === 0; };
  await waitFor(() => first.crashed || finished(), 5000, 'crash or completion');
  await agent1.stop();
  // Reboot on the same record and slots; the broker redelivers the retained directive.
  h.transport = new FakeTransport();
  const second = new CrashStore(h.store, Number.POSITIVE_INFINITY, 'after', guard);
  const agent2 = await h.boot(second);
  h.transport.deliver(message);
  await waitFor(finished, 5000, 'completion after restart');
  await agent2.stop();
  guard(h.record());
  return { h, reports: [...transport1.reports, ...h.transport.reports], saves: first.saves, violations };
}

describe.each(scenarios)('crash between every pair of steps: $name', (s) => {
  it('holds the invariant at every crash point, before and after each save', async () => {
    const clean = await runWithCrash(s, Number.POSITIVE_INFINITY, 'after');
    expect(clean.violations).toEqual([]);
    expect(label(clean.reports.at(-1)!)).toBe(s.final);
    const points = clean.saves;
    expect(points).toBeGreaterThan(5);
    for (let k = 1; k <= points; k++) {
      for (const mode of ['before', 'after'] as const) {
        const where = `crash ${mode} save ${k}`;
        const { h, reports, violations } = await runWithCrash(s, k, mode);
        expect(violations, where).toEqual([]);
        // Duplicates (resent after a lost PUBACK or a crash) carry the same content.
        const bySeq = new Map<number, StatusSigned>();
        for (const r of reports) {
          const seen = bySeq.get(r.seq);
          if (seen) expect(seen, where).toEqual(r);
          bySeq.set(r.seq, r);
        }
        const record = h.record();
        // Nothing lost: every seq the device persisted reached the broker.
        expect([...bySeq.keys()].sort((a, b) => a - b), where).toEqual(Array.from({ length: record.statusSeq }, (_, i) => i + 1));
        const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
        // As the orchestrator folds them: forward only, ending where the clean run ended.
        let state: DeviceState = 'notified';
        let progress = 0;
        for (const r of ordered) {
          if (isForwardTransition(state, r.state, progress, r.progress ?? 0)) {
            state = r.state;
            progress = r.progress ?? 0;
          }
        }
        const last = ordered.filter((r) => r.state === state).at(-1)!;
        expect(label(last), where).toBe(s.final);
        expect(ordered.filter((r) => ['succeeded', 'failed', 'rejected'].includes(r.state)).map(label), where).toEqual([s.final]);
        if (s.final === 'succeeded') {
          expect(record, where).toMatchObject({ activeSlot: 'B', installed: { releaseId: 'fw-1', sequence: 1 } });
          expect(last.installed, where).toEqual({ releaseId: 'fw-1', sequence: 1 });
          expect(h.slots.bootView(), where).toMatchObject({ committed: 'B', trial: undefined });
        } else {
          expect(record, where).toMatchObject({ activeSlot: 'A', installed: { releaseId: 'factory', sequence: 0 } });
          expect(h.slots.bootView(), where).toMatchObject({ committed: 'A', trial: undefined });
        }
      }
    }
  });
});
