// The rollout engine's decisions as a pure function: (rollout, wave, counts, now) -> the next
// command. BullMQ processors and Lua scripts only carry these out (STYLE.md §6).
import type { RolloutStatus, StateCounts, ReasonCounts, WaveStatus } from './model.js';
import type { WaveSpec } from './spec.js';
import { failedCount } from '../../protocol/states.js';

export interface DecisionInput {
  status: RolloutStatus;
  failureAction: 'pause' | 'abort';
  currentWave: number;
  waveCount: number;
  /** A dynamic rollout (spec.dynamic): its last wave waits for approval, open to joining devices. */
  dynamic?: boolean;
  wave: {
    spec: WaveSpec;
    size: number;
    status: WaveStatus;
    notifiedAt?: number;
    approved: boolean;
    /** The operator resumed after a halt: this wave's thresholds no longer stop it. */
    overridden?: boolean;
    counts: StateCounts;
    reasons: ReasonCounts;
  };
  nowSeconds: number;
  /**
   * The schedule's endAt has passed: no device is notified any more (its queued devices were
   * canceled), no wave starts or promotes, and the rollout completes once no device of it is
   * pending (`rolloutPending`).
   */
  ended?: boolean;
  /** Devices of every wave not yet terminal (queued included). */
  rolloutPending?: number;
}

export type Command =
  | { type: 'none' }
  | { type: 'start_wave'; wave: number }
  | { type: 'time_out'; wave: number }
  | { type: 'halt'; action: 'pause' | 'abort'; wave: number; reason: string }
  | { type: 'await_approval'; wave: number }
  | { type: 'promote'; wave: number; last: boolean }
  | { type: 'end' };

const NON_TERMINAL = ['queued', 'notified', 'accepted', 'deferred', 'downloading', 'verifying', 'installing', 'rebooting'] as const;

/**
 * Devices that count against the failure threshold: the failed states (protocol's
 * failedCount), less an owner's `declined` rejections, which are not a failure of the release.
 */
export function failuresOf(counts: StateCounts, reasons: ReasonCounts): number {
  const declined = Math.min(counts.rejected ?? 0, reasons.declined ?? 0);
  return failedCount(counts) - declined;
}

export function pendingOf(counts: StateCounts): number {
  return NON_TERMINAL.reduce((sum, state) => sum + (counts[state] ?? 0), 0);
}

/**
 * Devices the wave still answers for: a device a newer rollout took over (`canceled:
 * superseded`) is that rollout's to judge, so it counts neither for nor against this wave.
 */
export function ownSizeOf(size: number, reasons: ReasonCounts): number {
  return Math.max(0, size - (reasons.superseded ?? 0));
}

export function decide(input: DecisionInput): Command {
  const { wave, currentWave: index } = input;
  if (input.status !== 'running') return { type: 'none' };
  if (input.ended) return decideEnded(input);
  if (wave.status === 'pending') return { type: 'start_wave', wave: index };
  if (wave.status === 'done') return { type: 'none' };

  // A crossed failure threshold stops the rollout before the next wave, even mid-notification.
  const own = ownSizeOf(wave.size, wave.reasons);
  const size = Math.max(1, own);
  const failures = failuresOf(wave.counts, wave.reasons);
  if (!wave.overridden && own > 0 && failures / size > wave.spec.failureThreshold) {
    return { type: 'halt', action: input.failureAction, wave: index, reason: `failure threshold crossed in wave ${index + 1}: ${failures} of ${own} failed` };
  }
  if (wave.status === 'notifying' || wave.notifiedAt === undefined) return { type: 'none' };

  const pending = pendingOf(wave.counts);
  if (pending > 0 && input.nowSeconds >= wave.notifiedAt + wave.spec.deviceTimeoutSeconds) return { type: 'time_out', wave: index };

  const succeeded = wave.counts.succeeded ?? 0;
  const last = index + 1 >= input.waveCount;
  // Devices of earlier waves sent back by retry-failed keep the rollout open until they settle.
  if (last && (input.rolloutPending ?? 0) > pending) return { type: 'none' };
  // After an override the wave is done when every device has finished, whatever the outcome.
  // A wave left with no device of its own (all superseded) has nothing to judge: it completes.
  const successMet = own === 0 || succeeded / size >= wave.spec.successThreshold || wave.overridden === true;
  const baked = input.nowSeconds >= wave.notifiedAt + wave.spec.bakeSeconds;
  // A wave ends with every device settled (stragglers end by timing out), so its counts are final.
  if (successMet && baked && pending === 0) {
    // Manual promotion gates the next wave; after the last one there is nothing to approve,
    // except in a dynamic rollout: its last wave stays open for joining devices until approved.
    const gated = last ? input.dynamic === true : wave.spec.promotion === 'manual';
    if (gated && !wave.approved) {
      return wave.status === 'awaiting_approval' ? { type: 'none' } : { type: 'await_approval', wave: index };
    }
    return { type: 'promote', wave: index, last };
  }
  // Everyone has finished and the bar is not met: stop for a human rather than wait forever.
  if (pending === 0 && !successMet) {
    return { type: 'halt', action: 'pause', wave: index, reason: `success threshold not met in wave ${index + 1}: ${succeeded} of ${own} succeeded` };
  }
  return { type: 'none' };
}

/** After the schedule's end: only the failure threshold, device timeouts and the end itself. */
function decideEnded(input: DecisionInput): Command {
  const { wave, currentWave: index } = input;
  const own = ownSizeOf(wave.size, wave.reasons);
  const failures = failuresOf(wave.counts, wave.reasons);
  if (!wave.overridden && own > 0 && failures / Math.max(1, own) > wave.spec.failureThreshold) {
    return { type: 'halt', action: input.failureAction, wave: index, reason: `failure threshold crossed in wave ${index + 1}: ${failures} of ${own} failed` };
  }
  if ((input.rolloutPending ?? 0) === 0) return { type: 'end' };
  if (wave.notifiedAt !== undefined && pendingOf(wave.counts) > 0 && input.nowSeconds >= wave.notifiedAt + wave.spec.deviceTimeoutSeconds) return { type: 'time_out', wave: index };
  return { type: 'none' };
}
