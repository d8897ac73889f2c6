// The install job after acceptance, one persisted step at a time (docs/protocol.md#device-states):
// downloading → verifying → installing (inactive slot) → rebooting → health check → succeeded
// (commit) | failed (revert). Each step is persisted, with its report, before its I/O, so a
// restart resumes at the step it stood at. It never touches the committed boot slot.
import type { ReasonCode } from '../../protocol/index.js';
import type { Clock } from './clock.js';
import type { AgentConfig } from './config.js';
import type { DeviceRecord, Job, SlotImage } from './device-state.js';
import { isAgentError } from './errors.js';
import type { Fetcher } from './fetcher.js';
import type { ReportFields } from './reports.js';
import type { Slots } from './slots.js';

export interface JobContext {
  readonly slots: Slots;
  readonly fetcher: Fetcher;
  readonly clock: Clock;
  readonly config: AgentConfig;
  readonly signal: AbortSignal;
  record(): DeviceRecord;
  /**
   * Applies `change` and queues `report`, persisted together; throws stopped (applying
   * nothing) once the job was canceled, superseded or the agent stopped.
   */
  commit(change: (record: DeviceRecord) => DeviceRecord, report?: Omit<ReportFields, 'rolloutId' | 'counter'>): Promise<void>;
}

function withJob(record: DeviceRecord, patch: Partial<Job>): DeviceRecord {
  return record.job ? { ...record, job: { ...record.job, ...patch } } : record;
}

function withSlot(record: DeviceRecord, slot: 'A' | 'B', image: SlotImage | null): DeviceRecord {
  return { ...record, slots: { ...record.slots, [slot]: image } };
}

/** Runs the current job from its persisted step until it ends, waits (deferred), or is stopped. */
export async function runInstallJob(ctx: JobContext): Promise<void> {
  for (;;) {
    const job = ctx.record().job;
    if (!job || ctx.signal.aborted) return;
    switch (job.step) {
      case 'deferred':
        return;
      case 'downloading':
        await download(ctx, job);
        break;
      case 'verifying':
        await verify(ctx, job);
        break;
      case 'installing':
        await install(ctx, job);
        break;
      case 'rebooting':
        await rebootAndCheck(ctx, job);
        return;
    }
  }
}

async function fail(ctx: JobContext, job: Job, reason: ReasonCode, detail: string): Promise<void> {
  await ctx.commit((r) => {
    // An uncommitted image in the inactive slot is not one anyone may boot.
    const target = r.slots[job.targetSlot];
    return { ...withSlot(r, job.targetSlot, target?.committed ? target : null), job: null };
  }, { state: 'failed', reason, detail });
}

async function download(ctx: JobContext, job: Job): Promise<void> {
  const { payload } = job.release;
  const sink = await ctx.slots.openStaging();
  if (job.progress === undefined) {
    await ctx.commit((r) => withJob(r, { progress: 0 }), { state: 'downloading', progress: 0 });
  }
  // docs/protocol.md progress reports, throttled: at most every N % or every T seconds.
  let last = { percent: job.progress ?? 0, at: ctx.clock.now() };
  const onProgress = (received: number): void => {
    const percent = payload.size === 0 ? 100 : Math.floor((received * 100) / payload.size);
    const now = ctx.clock.now();
    if (percent <= last.percent) return;
    if (percent - last.percent < ctx.config.progressStepPercent && now - last.at < ctx.config.progressIntervalSeconds) return;
    last = { percent, at: now };
    ctx.commit((r) => withJob(r, { progress: percent }), { state: 'downloading', progress: percent }).catch(() => undefined);
  };
  let result;
  try {
    result = await ctx.fetcher.fetch({ uri: payload.uri, size: payload.size, sink, signal: ctx.signal, onProgress });
  } finally {
    await sink.close();
  }
  if (ctx.signal.aborted) return;
  if (!result.ok) return fail(ctx, job, result.reason, result.detail);
  await ctx.commit((r) => withJob(r, { step: 'verifying', downloaded: { sha256: result.sha256, size: result.size } }), { state: 'verifying' });
}

async function verify(ctx: JobContext, job: Job): Promise<void> {
  const { payload } = job.release;
  if (!job.downloaded) {
    await ctx.commit((r) => withJob(r, { step: 'downloading' }));
    return;
  }
  // docs/protocol.md#reason-codes: hash_mismatch: payload SHA-256 differs from the signed manifest.
  if (job.downloaded.sha256 !== payload.sha256 || job.downloaded.size !== payload.size) {
    return fail(ctx, job, 'hash_mismatch', `sha256 ${job.downloaded.sha256.slice(0, 16)}… differs from the manifest`);
  }
  // The inactive slot is about to be overwritten: it holds nothing usable from here on.
  await ctx.commit((r) => withJob(withSlot(r, job.targetSlot, null), { step: 'installing' }), { state: 'installing' });
}

async function install(ctx: JobContext, job: Job): Promise<void> {
  const { payload } = job.release;
  if (job.targetSlot === ctx.record().activeSlot) return fail(ctx, job, 'install_failed', 'target is the active slot');
  try {
    await ctx.slots.install(job.targetSlot, { sha256: payload.sha256, size: payload.size });
  } catch (error) {
    if (ctx.signal.aborted) return;
    // The staged bytes were lost (a crash before they reached storage): download again.
    if (isAgentError(error, 'staging_mismatch')) {
      await ctx.commit((r) => withJob(r, { step: 'downloading', downloaded: undefined }));
      return;
    }
    return fail(ctx, job, 'install_failed', isAgentError(error) ? error.code : 'write failed');
  }
  const image: SlotImage = { releaseId: job.release.releaseId, sequence: job.release.sequence, sha256: payload.sha256, size: payload.size, committed: false };
  await ctx.commit((r) => withJob(withSlot(r, job.targetSlot, image), { step: 'rebooting' }), { state: 'rebooting' });
}

async function rebootAndCheck(ctx: JobContext, job: Job): Promise<void> {
  const target = job.targetSlot;
  await ctx.slots.reboot(target);
  const healthy = await ctx.slots.healthCheck(target).catch(() => false);
  if (ctx.signal.aborted) return;
  if (!healthy) {
    // docs/protocol.md#reason-codes: health_check_failed: the new slot did not come up healthy; reverted.
    await ctx.slots.revert(ctx.record().activeSlot);
    return fail(ctx, job, 'health_check_failed', `slot ${target} unhealthy`);
  }
  if (!ctx.record().slots[target]) return fail(ctx, job, 'install_failed', `slot ${target} holds no written image`);
  await ctx.slots.commit(target);
  // Commit: raise the stored sequence, switch the active slot, all in one persisted step.
  await ctx.commit((r) => {
    const image = r.slots[target]!;
    return {
      ...withSlot(r, target, { ...image, committed: true }),
      activeSlot: target,
      installed: { releaseId: job.release.releaseId, sequence: job.release.sequence },
      job: null,
    };
  }, { state: 'succeeded' });
}
