// Status apply: verified device reports (ingestion) applied to their rollouts in one pipelined
// batch, in the order given, with one result per report. A report applies once and in order
// (docs/protocol.md#device-states): a seq already seen in its epoch or an older epoch (refused
// stale | stale_epoch and recorded on the device), a counter of another directive, a
// backwards move or anything after a terminal state changes nothing and says why.
import type { RedisClient as Redis } from '../redis.js';
import { deviceRolloutKeys } from './keys.js';
import { defineRolloutScripts, rolloutScriptKeys, runScript } from './scripts.js';
import { byDeviceGroup } from './transitions.js';
import { changedKey, fleetCountersKey, fleetRecountKey } from '../registry/keys.js';
import { deviceShard } from '../registry/device-shard.js';

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
  /** docs/protocol.md#status-report: the device's attributes, when the report carries them (replace the stored set). */
  attributes?: Record<string, string | number>;
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
 * command: the caller then keeps the batch unacknowledged and applies it again.
 *
 * Two steps, each one script per slot, sent together (no round trip between calls of a step):
 * 1. per rollout: the transition (applyReports), which remembers each device's last report
 *    (epoch, seq) and result, so a retried batch gets the first answers back and changes
 *    nothing twice;
 * 2. per device shard: the device record ((epoch, seq), installed release, last status, or the
 *    refusal), the shard's count of devices per installed release, and the history entry of a
 *    state change (recordReports); a report not newer than the device's last is refused there,
 *    so this step applies once too.
 * A crash between the steps leaves the batch unacknowledged: its retry repeats step 1 as a
 * no-op that answers as before and completes step 2. The device step's refusal (a replay of a
 * report fully applied, or an older one) is the answer when there is one, else the rollout's.
 */
export async function applyStatusReports(redis: Redis, prefix: string, reports: readonly StatusReportInput[]): Promise<StatusApplyResult[]> {
  if (reports.length === 0) return [];
  defineRolloutScripts(redis);
  const first = new Array<{ outcome: StatusApplyOutcome; wave: number; from: string }>(reports.length);
  const byRollout = new Map<string, number[]>();
  reports.forEach((r, i) => {
    let list = byRollout.get(r.rolloutId);
    if (!list) byRollout.set(r.rolloutId, (list = []));
    list.push(i);
  });
  await Promise.all([...byRollout].map(async ([rolloutId, indexes]) => {
    const args: Array<string | number> = [rolloutId];
    for (const i of indexes) {
      const r = reports[i]!;
      args.push(r.deviceId, r.counter, r.epoch ?? 0, r.seq, r.state, r.progress, r.reason);
    }
    const flat = await runScript<Array<string | number>>(redis, 'applyReports', rolloutScriptKeys(prefix, rolloutId), args);
    indexes.forEach((i, n) => {
      first[i] = { outcome: String(flat[n * 3]) as StatusApplyOutcome, wave: Number(flat[n * 3 + 1]), from: String(flat[n * 3 + 2] ?? '') };
    });
  }));
  // Step 2 for every report, refusals included (they are recorded on the device).
  const order = new Array<string>(reports.length);
  const all = reports.map((report, index) => ({ report, index }));
  await Promise.all(byDeviceGroup(all, (f) => f.report.deviceId).map(async (group) => {
    const keys: string[] = [];
    const args: Array<string | number> = [];
    for (const { item: { report: r, index } } of group) {
      const k = deviceRolloutKeys(prefix, r.deviceId);
      const from = first[index]!.outcome === 'applied' ? first[index]!.from : '';
      keys.push(k.record, k.history);
      args.push(r.epoch ?? 0, r.seq, r.at, r.installedReleaseId, r.installedSequence, r.rootVersion, r.rolloutId, r.state, r.reason, from, r.progress, r.counter, r.attributes ? JSON.stringify(r.attributes) : '');
    }
    const shard = deviceShard(group[0]!.item.report.deviceId);
    keys.push(changedKey(prefix, shard), fleetCountersKey(prefix, shard), fleetRecountKey(prefix, shard));
    const flat = await runScript<string[]>(redis, 'recordReports', keys, args);
    group.forEach(({ item: { index } }, n) => {
      order[index] = String(flat[n]);
    });
  }));
  return reports.map((_, i) => {
    const { outcome, wave } = first[i]!;
    const refused = order[i] === 'stale' || order[i] === 'stale_epoch';
    return refused ? { outcome: order[i] as StatusApplyOutcome, wave: -1 } : { outcome, wave };
  });
}
