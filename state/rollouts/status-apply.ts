// Status apply: verified device reports (ingestion) applied to their rollouts in one pipelined
// batch, in the order given, with one result per report. A report applies once and in order
// (docs/protocol.md#device-states): a seq already seen in its epoch or an older epoch (refused
// stale | stale_epoch and recorded on the device), a counter of another directive, a
// backwards move or anything after a terminal state changes nothing and says why.
import type { Redis } from 'ioredis';
import { deviceRolloutKeys } from './keys.js';
import { rolloutScripts } from './scripts.js';

/** One verified report (protocol's StatusSigned, flattened). */
export interface StatusReportInput {
  deviceId: string;
  rolloutId: string;
  counter: number;
  seq: number;
  state: string;
  progress: number;
  reason: string;
  /** The report's wire time. */
  at: string;
  installedReleaseId: string;
  installedSequence: number;
  rootVersion: number;
  /** docs/protocol.md#status-report: the report's epoch (0 when it carries none). */
  epoch?: number;
}

/** `applied`, or why the report changed nothing in its rollout. */
export const STATUS_APPLY_OUTCOMES = ['applied', 'stale', 'stale_epoch', 'unknown_rollout', 'other_directive', 'after_terminal', 'backwards', 'expired'] as const;
export type StatusApplyOutcome = (typeof STATUS_APPLY_OUTCOMES)[number];

export interface StatusApplyResult {
  outcome: StatusApplyOutcome;
  /** The device's wave in the rollout; -1 when unknown (stale, unknown rollout). */
  wave: number;
}

/**
 * Applies `reports` in order and answers one result per report. Throws if Redis refused any
 * command: the caller then keeps the batch unacknowledged and applies it again (idempotent).
 */
export async function applyStatusReports(redis: Redis, prefix: string, reports: readonly StatusReportInput[]): Promise<StatusApplyResult[]> {
  if (reports.length === 0) return [];
  rolloutScripts(redis);
  const pipe = redis.pipeline() as ReturnType<Redis['pipeline']> & { applyStatus(historyKey: string, ...args: (string | number)[]): unknown };
  for (const r of reports) {
    pipe.applyStatus(deviceRolloutKeys(prefix, r.deviceId).history, prefix, r.deviceId, r.rolloutId, r.counter, r.seq, r.state, r.progress, r.reason, r.at, r.installedReleaseId, r.installedSequence, r.rootVersion, r.epoch ?? 0);
  }
  const replies = (await pipe.exec()) ?? [];
  return reports.map((_, i) => {
    const [error, value] = replies[i] ?? [new Error('no reply')];
    if (error) throw error;
    const [outcome, wave] = value as [StatusApplyOutcome, number];
    return { outcome, wave: Number(wave) };
  });
}
