// isForwardTransition (docs/protocol.md#device-states): a transition that goes backwards, or
// comes after a terminal state, is ignored; downloading may repeat with more progress.
import { describe, expect, it } from 'vitest';
import { DEVICE_STATES, FAILED_STATES, TERMINAL_STATES, failedCount, isForwardTransition, isTerminal, type DeviceState } from '../../protocol/index.js';

const path: DeviceState[] = ['queued', 'notified', 'accepted', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded'];

describe('isForwardTransition', () => {
  it('accepts every step of the happy path, and skipping ahead', () => {
    for (let i = 0; i + 1 < path.length; i++) expect(isForwardTransition(path[i]!, path[i + 1]!), `${path[i]} -> ${path[i + 1]}`).toBe(true);
    expect(isForwardTransition('notified', 'succeeded')).toBe(true);
    expect(isForwardTransition('queued', 'downloading')).toBe(true);
  });

  it('refuses every backwards step', () => {
    for (let i = 1; i < path.length - 1; i++) {
      for (let j = 0; j < i; j++) expect(isForwardTransition(path[i]!, path[j]!), `${path[i]} -> ${path[j]}`).toBe(false);
    }
  });

  it('refuses anything after a terminal state', () => {
    for (const terminal of TERMINAL_STATES) {
      for (const next of DEVICE_STATES) expect(isForwardTransition(terminal, next), `${terminal} -> ${next}`).toBe(false);
    }
  });

  it('the terminal states are exactly rejected, succeeded, failed, timed_out and canceled', () => {
    expect(DEVICE_STATES.filter(isTerminal).sort()).toEqual(['canceled', 'failed', 'rejected', 'succeeded', 'timed_out']);
  });

  it('any live state may end in failed, rejected, timed_out or canceled', () => {
    for (const live of DEVICE_STATES.filter((s) => !isTerminal(s))) {
      for (const end of ['failed', 'rejected', 'timed_out', 'canceled'] as const) expect(isForwardTransition(live, end), `${live} -> ${end}`).toBe(true);
    }
  });

  it('deferred may become accepted, but accepted does not go back to deferred', () => {
    expect(isForwardTransition('notified', 'deferred')).toBe(true);
    expect(isForwardTransition('deferred', 'accepted')).toBe(true);
    expect(isForwardTransition('accepted', 'deferred')).toBe(false);
    expect(isForwardTransition('deferred', 'deferred')).toBe(false);
  });

  it('downloading repeats only with more progress', () => {
    expect(isForwardTransition('downloading', 'downloading', 10, 40)).toBe(true);
    expect(isForwardTransition('downloading', 'downloading', 40, 40)).toBe(false);
    expect(isForwardTransition('downloading', 'downloading', 40, 10)).toBe(false);
  });

  it('a repeated non-download state is not a transition', () => {
    for (const s of ['notified', 'accepted', 'verifying', 'installing', 'rebooting'] as const) expect(isForwardTransition(s, s)).toBe(false);
  });
});

describe('failed states (the one definition the CLI, the demo, the console and the engine build on)', () => {
  it('are the terminal states that are not a success', () => {
    expect([...FAILED_STATES].sort()).toEqual([...TERMINAL_STATES].filter((s) => s !== 'succeeded' && s !== 'canceled').sort());
  });

  it('failedCount sums them and nothing else', () => {
    expect(failedCount({ failed: 2, rejected: 3, timed_out: 4, canceled: 5, succeeded: 6, downloading: 7 })).toBe(9);
    expect(failedCount({})).toBe(0);
  });
});
