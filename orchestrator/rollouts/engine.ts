// The staged rollout engine: operator actions, and the BullMQ processors that carry out
// `decide()` — notify slices of a wave, tick each running rollout, publish cancels. Every
// state change is a compare-and-set or a Lua script, so any number of engine processes can
// share the queues and any of them may die between two steps.
import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import { duplicateRedis, type RedisClient as Redis } from '../../state/redis.js';
import type { MqttClient } from 'mqtt';
import { type RootEnvelope } from '../../protocol/index.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../../runtime/logger.js';
import { logWorkerErrors } from '../infra/worker-errors.js';
import { publishDirective } from '../mqtt/service-client.js';
import { decide } from './decide.js';
import type { DirectiveSigner } from './directive-signer.js';
import type { RolloutEvaluator } from '../ingestion/start-ingestion.js';

export type DirectiveSignFn = ReturnType<DirectiveSigner['forContext']>;
import { RolloutError } from './errors.js';
import type { RolloutView } from './model.js';
import { planRefusal, planRollout, previewOf, type RolloutPlan, type RolloutPreview } from './plan-rollout.js';
import type { ReleaseSource, RootSource, TargetResolver } from './sources.js';
import { parseRolloutSpec, rateOf, scheduleOf, type RolloutSpecInput } from './spec.js';
import { currentRate, plannedDelays, scheduleGate, sliceSizeFor } from './schedule.js';
import { pendingOf } from './decide.js';
import type { RolloutRecord, RolloutStore } from './store.js';
import { randomBytes } from 'node:crypto';
import { queuePrefix } from '../../state/rollouts/keys.js';
import { devicesChangedSince, redisNowMs } from '../../state/registry/index.js';

export interface EngineOptions {
  /** Devices per notify job: one signing + publishing batch. */
  sliceSize: number;
  /** How often each running rollout is evaluated. */
  tickMs: number;
  /** Notify jobs processed at once per engine process. */
  notifyConcurrency: number;
  /** How long a capped rollout's pacer remembers its schedule after the last slice (ms). */
  paceHorizonMs: number;
  /** Control ticks (rollout evaluations) processed at once per engine process. */
  controlConcurrency: number;
  /** Cancel jobs processed at once per engine process (cancels are rare and small). */
  cancelConcurrency: number;
  /** Tries of a notify job before BullMQ gives up on it (the reconciler republishes after). */
  notifyAttempts: number;
  /** Tries of a cancel job before BullMQ gives up on it. */
  cancelAttempts: number;
  /** First delay of the exponential backoff between tries of a notify or cancel job (ms). */
  retryBackoffMs: number;
  /** Decisions one tick carries out before yielding to the next tick (bounds a tick's work). */
  decisionsPerTick: number;
  /** Failed notify and cancel jobs BullMQ keeps for inspection (older ones are removed). */
  failedJobsKept: number;
  /** Failed control ticks kept (a tick repeats every tickMs, so a few suffice). */
  failedTicksKept: number;
  /** How long a notify slice of a paused or not yet started rollout waits before it looks again (ms). */
  heldSliceDelayMs: number;
  /** Dynamic rollouts: least time between two reads of the registry's change log per rollout (ms). */
  joinSweepMs: number;
  /** Dynamic rollouts: changed devices read per device shard in one sweep (the rest in the next). */
  joinScanPerShard: number;
  /**
   * Longest wait of a slice held by its schedule (before startAt, outside every window) before
   * it looks again, however far the next opening is: a clock or spec change is seen this soon (ms).
   */
  scheduleRecheckMs: number;
  /**
   * Delay, and rate limit per rollout, of the extra evaluation a rollout gets after ingestion
   * applied some of its reports (reportsApplied): sooner than the next scheduled tick, at most
   * once per this many ms however many batches arrive.
   */
  appliedTickDelayMs: number;
  /** How long a slice that found no room under maxInFlight (or a crossed threshold) waits before it asks again (ms). */
  inFlightRetryMs: number;
  /** Devices one tick times out of the in-flight set at most (bounds a tick's work). */
  expirePerTick: number;
}

/**
 * A change stamped this long before a sweep's cursor is read again: on Redis Cluster the shards'
 * clocks may differ a little (a repeated candidate is harmless: joining is idempotent).
 */
const JOIN_CLOCK_SLACK_MS = 5_000;

export const DEFAULT_ENGINE_OPTIONS: EngineOptions = {
  sliceSize: 500,
  tickMs: 500,
  notifyConcurrency: 4,
  paceHorizonMs: 60_000,
  controlConcurrency: 4,
  cancelConcurrency: 2,
  notifyAttempts: 10,
  cancelAttempts: 5,
  retryBackoffMs: 500,
  decisionsPerTick: 4,
  failedJobsKept: 1000,
  failedTicksKept: 100,
  heldSliceDelayMs: 1_000,
  joinSweepMs: 2_000,
  joinScanPerShard: 2_000,
  scheduleRecheckMs: 60_000,
  appliedTickDelayMs: 100,
  inFlightRetryMs: 250,
  expirePerTick: 1_000,
};

export interface EngineDeps {
  redis: Redis;
  prefix: string;
  store: RolloutStore;
  events: EventLog;
  releases: ReleaseSource;
  roots: RootSource;
  targets: TargetResolver;
  signer: DirectiveSigner;
  mqtt: MqttClient;
  logger: Logger;
  /** Epoch seconds. */
  now?: () => number;
  options?: Partial<EngineOptions>;
}

/** A slice of a wave (offset, count into its members), or devices that joined it late (`deviceIds`, slices 0). */
interface NotifyJob { rolloutId: string; wave: number; slice: number; slices: number; offset: number; count: number; deviceIds?: string[] }

/** Slices per maxInFlight: a slice is at most a tenth of the devices allowed in flight. */
const IN_FLIGHT_SLICES = 10;

/** A fresh rollout id: the creation date and 6 random hex digits. */
export function newRolloutId(): string {
  return `ro-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
}
interface CancelJob { rolloutId: string; deviceIds: string[]; issuedAt: number }
interface TickJob { rolloutId: string }

export class RolloutEngine implements RolloutEvaluator {
  private readonly options: EngineOptions;
  private readonly now: () => number;
  readonly notifyQueue: Queue<NotifyJob>;
  readonly controlQueue: Queue<TickJob>;
  readonly cancelQueue: Queue<CancelJob>;
  private workers: Worker[] = [];
  private readonly stopErrorLogs: Array<() => void> = [];
  private readonly lastCounts = new Map<string, string>();
  /** Rollouts with an evaluation due after applied reports (reportsApplied), by id. */
  private readonly evaluationsDue = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(private readonly deps: EngineDeps) {
    this.options = { ...DEFAULT_ENGINE_OPTIONS, ...deps.options };
    this.now = deps.now ?? (() => Math.floor(Date.now() / 1000));
    // Each queue its own prefix with its own hash tag: on Redis Cluster a queue's keys share a
    // slot (BullMQ's scripts need that) and the three queues spread over the shards.
    this.notifyQueue = new Queue<NotifyJob>('notify', { connection: deps.redis, prefix: queuePrefix(deps.prefix, 'notify') });
    this.controlQueue = new Queue<TickJob>('control', { connection: deps.redis, prefix: queuePrefix(deps.prefix, 'control') });
    this.cancelQueue = new Queue<CancelJob>('cancel', { connection: deps.redis, prefix: queuePrefix(deps.prefix, 'cancel') });
  }

  /** Starts this process's workers on the shared queues. */
  startWorkers(): void {
    const connection = () => duplicateRedis(this.deps.redis, { maxRetriesPerRequest: null });
    this.workers = [
      new Worker<NotifyJob>('notify', (job, token) => this.processNotify(job, token), { connection: connection(), prefix: queuePrefix(this.deps.prefix, 'notify'), concurrency: this.options.notifyConcurrency }),
      new Worker<TickJob>('control', (job) => this.tick(job.data.rolloutId), { connection: connection(), prefix: queuePrefix(this.deps.prefix, 'control'), concurrency: this.options.controlConcurrency }),
      new Worker<CancelJob>('cancel', (job) => this.processCancel(job), { connection: connection(), prefix: queuePrefix(this.deps.prefix, 'cancel'), concurrency: this.options.cancelConcurrency }),
    ];
    for (const worker of this.workers) {
      worker.on('failed', (job, error) => this.deps.logger.error({ queue: worker.name, jobId: job?.id, err: error.message }, 'job failed'));
      // Once per episode, not once per failed poll (an outage made ~45 lines a second).
      this.stopErrorLogs.push(logWorkerErrors(worker, this.deps.logger));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.evaluationsDue.values()) clearTimeout(timer);
    this.evaluationsDue.clear();
    await Promise.all(this.workers.map((w) => w.close()));
    await Promise.all(this.workers.map((w) => w.disconnect()));
    for (const stop of this.stopErrorLogs.splice(0)) stop();
    await Promise.all([this.notifyQueue.close(), this.controlQueue.close(), this.cancelQueue.close()]);
  }

  // ---- operator actions -------------------------------------------------------------------

  /** The rollout `input` would create, written nowhere (the dry run); `refusal` says why create would refuse it. */
  async preview(input: RolloutSpecInput): Promise<RolloutPreview> {
    const spec = parseRolloutSpec(input);
    const plan = await planRollout(this.deps, spec, spec.id ?? newRolloutId(), this.now(), true);
    if (!plan) throw new RolloutError('release_not_found', `no release ${spec.releaseId}`);
    return previewOf(plan, spec);
  }

  async create(input: RolloutSpecInput): Promise<RolloutView> {
    return (await this.createPlanned(input)).view;
  }

  /** Creates the rollout and answers its view with the plan it was created from. */
  async createPlanned(input: RolloutSpecInput): Promise<{ view: RolloutView; plan: RolloutPlan }> {
    const spec = parseRolloutSpec(input);
    const id = spec.id ?? newRolloutId();
    // A dynamic rollout reads the registry's change log from before it resolves its target:
    // a device changed meanwhile is looked at again (joining is idempotent).
    const joinCursor = spec.dynamic ? await redisNowMs(this.deps.redis) : undefined;
    const plan = await planRollout(this.deps, spec, id, this.now(), false);
    if (!plan) throw new RolloutError('release_not_found', `no release ${spec.releaseId}`);
    const refusal = planRefusal(plan, spec);
    if (refusal) throw refusal;
    const now = this.now();
    const status = !spec.start ? 'created' : this.waitsForStart(spec, now) ? 'scheduled' : 'running';
    await this.deps.store.create({ id, spec, manifestSha256: plan.release.digest, waves: plan.waves, now, status, ...(joinCursor !== undefined ? { joinCursor } : {}) });
    await this.deps.events.emit({ type: 'rollout.created', rolloutId: id });
    if (spec.start) await this.schedule(id, status === 'scheduled' ? 'rollout.scheduled' : 'rollout.started');
    return { view: await this.deps.store.view(id), plan };
  }

  /** Starts a rollout created with start: false: running now, or scheduled until its startAt. */
  async start(id: string): Promise<RolloutView> {
    const r = await this.deps.store.require(id);
    const status = this.waitsForStart(r.spec, this.now()) ? 'scheduled' : 'running';
    await this.transition(id, ['created'], status, '');
    await this.schedule(id, status === 'scheduled' ? 'rollout.scheduled' : 'rollout.started');
    return this.deps.store.view(id);
  }

  private waitsForStart(spec: RolloutRecord['spec'], now: number): boolean {
    return scheduleGate(scheduleOf(spec), now).state === 'before_start';
  }

  async pause(id: string, reason = 'paused by operator'): Promise<RolloutView> {
    await this.transition(id, ['running'], 'paused', reason);
    await this.deps.events.emit({ type: 'rollout.paused', rolloutId: id, reason });
    return this.deps.store.view(id);
  }

  /**
   * Resumes a paused rollout. If a threshold paused it, resuming is the operator's judgement
   * on the current wave: its thresholds stop being checked and it completes once every device
   * has finished; later waves are held to their own thresholds.
   */
  async resume(id: string): Promise<RolloutView> {
    const r = await this.deps.store.require(id);
    if (r.status === 'paused' && r.statusReason.includes('threshold')) {
      await this.deps.store.state.flagWave(id, r.currentWave, 'overridden');
    }
    await this.transition(id, ['paused'], 'running', '');
    await this.schedule(id, 'rollout.resumed');
    return this.deps.store.view(id);
  }

  /** Approves the current wave's promotion (manual promotion). */
  async approve(id: string): Promise<RolloutView> {
    const r = await this.deps.store.require(id);
    const wave = await this.deps.store.state.getWave(id, r.currentWave);
    if (wave.status === 'done' || r.status === 'completed' || r.status === 'aborted') throw new RolloutError('invalid_state', `rollout ${id} has no wave to approve`);
    await this.deps.store.state.flagWave(id, r.currentWave, 'approved');
    await this.deps.events.emit({ type: 'wave.approved', rolloutId: id, wave: r.currentWave });
    await this.tick(id);
    return this.deps.store.view(id);
  }

  /** Stops the rollout for good: pending devices are canceled, notified ones get a signed cancel. */
  async abort(id: string, reason = 'aborted by operator'): Promise<RolloutView> {
    await this.transition(id, ['created', 'scheduled', 'running', 'paused'], 'aborted', reason);
    await this.settleAfterAbort(id, reason);
    return this.deps.store.view(id);
  }

  private async settleAfterAbort(id: string, reason: string): Promise<void> {
    const r = await this.deps.store.require(id);
    const issuedAt = this.now();
    for (let wave = 0; wave < r.waveCount; wave++) {
      const notified = await this.deps.store.state.settleWave(id, wave, 'canceled');
      await this.enqueueCancels(id, String(wave), notified, issuedAt);
    }
    await this.controlQueue.removeJobScheduler(`tick|${id}`);
    // The settled counts (queued -> canceled) before the status: no later tick would emit them.
    await this.emitCountsIfChanged(id, true);
    await this.deps.events.emit({ type: 'rollout.aborted', rolloutId: id, reason });
  }

  /** Signed cancels for `deviceIds` in slices; `tag` makes the job ids unique per occasion. */
  private async enqueueCancels(id: string, tag: string, deviceIds: string[], issuedAt = this.now()): Promise<void> {
    for (let i = 0; i < deviceIds.length; i += this.options.sliceSize) {
      const slice = deviceIds.slice(i, i + this.options.sliceSize);
      await this.cancelQueue.add('cancel', { rolloutId: id, deviceIds: slice, issuedAt }, { jobId: `cancel|${id}|${tag}|${i}`, removeOnComplete: true, removeOnFail: this.options.failedJobsKept, attempts: this.options.cancelAttempts, backoff: { type: 'exponential', delay: this.options.retryBackoffMs } });
    }
  }

  private async transition(id: string, from: RolloutRecord['status'][], to: RolloutRecord['status'], reason: string): Promise<void> {
    const r = await this.deps.store.require(id);
    if (!(await this.deps.store.setStatus(id, from, to, reason, this.now()))) {
      throw new RolloutError('invalid_state', `rollout ${id} is ${r.status}; cannot go to ${to}`);
    }
  }

  private async schedule(id: string, event: 'rollout.started' | 'rollout.scheduled' | 'rollout.resumed'): Promise<void> {
    await this.controlQueue.upsertJobScheduler(`tick|${id}`, { every: this.options.tickMs }, { name: 'tick', data: { rolloutId: id }, opts: { removeOnComplete: true, removeOnFail: this.options.failedTicksKept } });
    await this.deps.events.emit({ type: event, rolloutId: id });
    // Start notifying now rather than at the scheduler's first tick (ticks are idempotent; a
    // failure here is retried by the scheduler, so it does not fail the operator's request).
    await this.tick(id).catch((error: Error) => this.deps.logger.warn({ rolloutId: id, err: error.message }, 'first tick failed; the scheduler retries'));
  }

  // ---- the control loop -------------------------------------------------------------------

  /** RolloutEvaluator (ingestion → engine): a report applied may settle a wave, so evaluate soon. */
  reportsApplied(rolloutIds: ReadonlySet<string>): void {
    if (this.closed) return;
    for (const id of rolloutIds) {
      if (this.evaluationsDue.has(id)) continue;
      this.evaluationsDue.set(id, setTimeout(() => {
        this.evaluationsDue.delete(id);
        void this.tick(id).catch((error: Error) => this.deps.logger.warn({ rolloutId: id, err: error.message }, 'tick after ingest failed'));
      }, this.options.appliedTickDelayMs));
    }
  }

  /** Evaluates one rollout and carries out at most a few decisions. Safe to run concurrently. */
  async tick(id: string): Promise<void> {
    for (let step = 0; step < this.options.decisionsPerTick; step++) {
      const r = await this.deps.store.get(id);
      if (!r) return;
      // History a crashed process left in the rollout's outbox reaches the devices.
      if (step === 0) await this.deps.store.state.flushHistory(id);
      if (step === 0 && r.spec.dynamic && (r.status === 'running' || r.status === 'paused')) await this.joinChangedDevices(r);
      await this.emitCountsIfChanged(id);
      if (r.status === 'completed' || r.status === 'aborted') {
        await this.controlQueue.removeJobScheduler(`tick|${id}`);
        return;
      }
      const gate = scheduleGate(scheduleOf(r.spec), this.now());
      if (r.status === 'scheduled') {
        if (gate.state === 'before_start') return;
        if (await this.deps.store.setStatus(id, ['scheduled'], 'running', '', this.now())) await this.deps.events.emit({ type: 'rollout.started', rolloutId: id });
        continue;
      }
      const ended = gate.state === 'ended';
      if (ended && (await this.deps.store.state.markEnded(id, this.now()))) await this.endSchedule(r);
      if (step === 0 && r.spec.maxInFlight !== undefined && r.status === 'running') await this.expireInFlight(r);
      const wave = await this.deps.store.state.getWave(id, r.currentWave);
      const { total, wave: { counts, reasons } } = await this.deps.store.state.countsWithWave(id, r.currentWave);
      const command = decide({
        ended,
        rolloutPending: pendingOf(total.counts),
        status: r.status,
        failureAction: r.spec.failureAction,
        currentWave: r.currentWave,
        waveCount: r.waveCount,
        ...(r.spec.dynamic ? { dynamic: true } : {}),
        wave: { spec: r.spec.waves[r.currentWave]!, size: wave.size, status: wave.status, approved: wave.approved, overridden: wave.overridden, counts, reasons, ...(wave.notifiedAt !== undefined ? { notifiedAt: wave.notifiedAt } : {}) },
        nowSeconds: this.now(),
      });
      if (command.type === 'none') return;
      await this.execute(r, command);
    }
  }

  /**
   * The schedule's endAt passed (once per rollout): every queued device of every wave is canceled
   * with reason `ended`; one a slice in flight may have sent a directive gets a signed cancel.
   * Notified devices finish (or time out) as usual; decide() then completes the rollout.
   */
  private async endSchedule(r: RolloutRecord): Promise<void> {
    let canceled = 0;
    for (let wave = 0; wave < r.waveCount; wave++) {
      const before = (await this.deps.store.state.waveCounts(r.id, wave)).counts.queued ?? 0;
      const prepared = await this.deps.store.state.cancelQueued(r.id, wave, 'ended');
      canceled += before;
      await this.enqueueCancels(r.id, `ended|${wave}`, prepared);
    }
    await this.deps.events.emit({ type: 'rollout.ended', rolloutId: r.id, reason: `schedule ended at ${r.spec.schedule?.endAt ?? ''}: ${canceled} devices not notified` });
  }

  private async execute(r: RolloutRecord, command: Exclude<ReturnType<typeof decide>, { type: 'none' }>): Promise<void> {
    const id = r.id;
    switch (command.type) {
      case 'end': {
        const notNotified = (await this.deps.store.state.countsWithWave(id, 0)).total.reasons.ended ?? 0;
        const reason = `schedule ended at ${r.spec.schedule?.endAt ?? ''}: ${notNotified} devices not notified`;
        if (await this.deps.store.setStatus(id, ['running'], 'completed', reason, this.now())) {
          await this.emitCountsIfChanged(id, true);
          await this.deps.events.emit({ type: 'rollout.completed', rolloutId: id, reason });
        }
        return;
      }
      case 'start_wave':
        return this.startWave(r, command.wave);
      case 'time_out': {
        const timedOut = await this.deps.store.state.settleWave(id, command.wave, 'timed_out');
        // Timed out is final for the wave: a signed cancel replaces the retained install, so a
        // device that comes back later does not install outside its wave's watch (README:
        // Rollouts, device timeout). What it reports afterwards still updates its registry record.
        await this.enqueueCancels(id, `timeout|${command.wave}`, timedOut);
        await this.deps.events.emit({ type: 'wave.timed_out', rolloutId: id, wave: command.wave, count: timedOut.length });
        return;
      }
      case 'halt':
        if (command.action === 'abort') {
          if (await this.deps.store.setStatus(id, ['running'], 'aborted', command.reason, this.now())) await this.settleAfterAbort(id, command.reason);
        } else if (await this.deps.store.setStatus(id, ['running'], 'paused', command.reason, this.now())) {
          await this.deps.events.emit({ type: 'rollout.paused', rolloutId: id, reason: command.reason });
        }
        return;
      case 'await_approval':
        if (await this.deps.store.state.casWave(id, command.wave, 'baking', 'awaiting_approval')) {
          await this.deps.events.emit({ type: 'wave.awaiting_approval', rolloutId: id, wave: command.wave });
        }
        return;
      case 'promote': {
        const wave = await this.deps.store.state.getWave(id, command.wave);
        if (!(await this.deps.store.state.casWave(id, command.wave, wave.status, 'done'))) return;
        await this.deps.events.emit({ type: 'wave.done', rolloutId: id, wave: command.wave });
        if (command.last) {
          if (await this.deps.store.setStatus(id, ['running'], 'completed', '', this.now())) {
            await this.emitCountsIfChanged(id, true);
            await this.deps.events.emit({ type: 'rollout.completed', rolloutId: id });
          }
        } else {
          await this.deps.store.state.advanceWave(id, command.wave);
        }
        return;
      }
    }
  }

  /** Under maxInFlight, a device silent past its wave's deviceTimeoutSeconds since admission times out and gets a cancel. */
  private async expireInFlight(r: RolloutRecord): Promise<void> {
    const timeout = r.spec.waves[r.currentWave]?.deviceTimeoutSeconds ?? 0;
    const expired = await this.deps.store.state.expireInFlight(r.id, this.now() - timeout, this.options.expirePerTick);
    if (expired.length === 0) return;
    await this.enqueueCancels(r.id, `expired|${this.now()}|${expired[0]!}`, expired);
    await this.deps.events.emit({ type: 'wave.timed_out', rolloutId: r.id, wave: r.currentWave, count: expired.length });
  }

  private async startWave(r: RolloutRecord, wave: number): Promise<void> {
    const startedAt = this.now();
    const rate = rateOf(r.spec);
    // Under a rate, slices are a second's worth and spaced so that no minute sees more than the
    // rate allows (the ramp's rate at each point, as if every notified device succeeded at once).
    let sliceSize = rate ? sliceSizeFor(rate, this.options.sliceSize) : this.options.sliceSize;
    // Under maxInFlight, slices of a tenth of it: places freed by settled devices are refilled
    // in small steps rather than only once the whole set has drained.
    if (r.spec.maxInFlight !== undefined) sliceSize = Math.max(1, Math.min(sliceSize, Math.floor(r.spec.maxInFlight / IN_FLIGHT_SLICES)));
    if (!(await this.deps.store.state.casWave(r.id, wave, 'pending', 'notifying', 'notifyStartedAt', startedAt))) return;
    // The size is read after the wave left `pending`: a device that joined before is in a slice,
    // one that joins after sees `notifying` and is notified on its own (joinChangedDevices).
    const record = await this.deps.store.state.getWave(r.id, wave);
    const slices = Math.ceil(record.size / sliceSize);
    const delays = rate ? plannedDelays(rate, slices, sliceSize, (await this.deps.store.state.rateProgress(r.id)).notified) : [];
    await this.deps.store.state.setWaveSlices(r.id, wave, slices);
    await this.deps.events.emit({ type: 'wave.notifying', rolloutId: r.id, wave, count: record.size });
    if (slices === 0) {
      await this.deps.store.state.casWave(r.id, wave, 'notifying', 'baking', 'notifiedAt', startedAt);
      return;
    }
    const jobs = [];
    for (let slice = 0; slice < slices; slice++) {
      const delay = delays[slice] ?? 0;
      jobs.push({
        name: 'notify',
        data: { rolloutId: r.id, wave, slice, slices, offset: slice * sliceSize, count: sliceSize },
        opts: { jobId: `notify|${r.id}|${wave}|${slice}`, delay, removeOnComplete: true, removeOnFail: this.options.failedJobsKept, attempts: this.options.notifyAttempts, backoff: { type: 'exponential' as const, delay: this.options.retryBackoffMs } },
      });
    }
    await this.notifyQueue.addBulk(jobs);
  }

  // ---- dynamic rollouts -------------------------------------------------------------------

  /**
   * Devices changed since the rollout last looked (the registry's change log) that now match
   * its target join its last wave (docs/design.md#dynamic-rollouts); a device already running
   * the release's sequence or a newer one does not. Joiners of a wave already sliced are
   * notified on their own. At most once per joinSweepMs per rollout; safe to run concurrently.
   */
  private async joinChangedDevices(r: RolloutRecord): Promise<void> {
    const state = this.deps.store.state;
    const cursor = (await state.joinCursor(r.id)) ?? 0;
    const now = await redisNowMs(this.deps.redis);
    if (now - cursor < this.options.joinSweepMs) return;
    const changed = await devicesChangedSince(this.deps.redis, this.deps.prefix, Math.max(0, cursor - JOIN_CLOCK_SLACK_MS), this.options.joinScanPerShard);
    const next = changed.readThrough ?? now;
    let candidates = [...new Set(changed.ids)];
    if (r.spec.target.deviceIds) {
      const named = new Set(r.spec.target.deviceIds);
      candidates = candidates.filter((id) => named.has(id));
    }
    let matched: string[] = [];
    if (candidates.length > 0) {
      const release = await this.deps.releases.get(r.releaseId);
      if (!release) throw new RolloutError('release_not_found', `release ${r.releaseId} vanished`);
      const { vendorId, classId, sequence } = release.envelope.signed;
      matched = await this.deps.targets.resolveTarget({ ...r.spec.target, deviceIds: candidates, vendorId, classId });
      if (matched.length > 0 && this.deps.targets.installedSequences) {
        const installed = await this.deps.targets.installedSequences(matched);
        matched = matched.filter((_, i) => installed[i] === undefined || installed[i]! < sequence);
      }
    }
    const wave = r.waveCount - 1;
    const result = await state.joinWave(r.id, wave, next, matched);
    if (result.closed || result.joined.length === 0) return;
    await this.deps.events.emit({ type: 'wave.joined', rolloutId: r.id, wave, count: result.joined.length });
    if (result.waveStatus === 'pending') return; // its slices are cut when it starts
    const jobs = [];
    for (let i = 0; i < result.joined.length; i += this.options.sliceSize) {
      const deviceIds = result.joined.slice(i, i + this.options.sliceSize);
      jobs.push({
        name: 'notify',
        data: { rolloutId: r.id, wave, slice: -1, slices: 0, offset: 0, count: deviceIds.length, deviceIds },
        opts: { jobId: `notify|${r.id}|${wave}|join|${next}|${i}`, removeOnComplete: true, removeOnFail: this.options.failedJobsKept, attempts: this.options.notifyAttempts, backoff: { type: 'exponential' as const, delay: this.options.retryBackoffMs } },
      });
    }
    await this.notifyQueue.addBulk(jobs);
  }

  // ---- processors -------------------------------------------------------------------------

  private async processNotify(job: Job<NotifyJob>, token?: string): Promise<void> {
    const { rolloutId, wave, slice, slices, offset, count } = job.data;
    const r = await this.deps.store.get(rolloutId);
    if (!r || r.status === 'aborted' || r.status === 'completed') return;
    if (r.status === 'paused' || r.status === 'created') {
      // Held, not dropped: the slice resumes when the rollout does.
      await job.moveToDelayed(Date.now() + this.options.heldSliceDelayMs, token);
      throw new DelayedError();
    }
    const gate = scheduleGate(scheduleOf(r.spec), this.now());
    if (gate.state === 'ended') {
      // Past endAt nobody more is notified: the slice only counts as done (its devices are, or
      // will be, canceled by the tick), so the wave can finish with what it notified.
      const done = await this.deps.store.state.markNotified(rolloutId, wave, slice, slices, this.now(), []);
      if (done) await this.deps.events.emit({ type: 'wave.baking', rolloutId, wave });
      return;
    }
    if (gate.state !== 'open') {
      // Before startAt or outside every maintenance window: held until the next opening, looking
      // again at least every scheduleRecheckMs (the clock is the engine's; BullMQ's delay is not).
      const untilOpen = gate.opensAt === undefined ? this.options.scheduleRecheckMs : (gate.opensAt - this.now()) * 1000;
      await job.moveToDelayed(Date.now() + Math.max(this.options.heldSliceDelayMs, Math.min(untilOpen, this.options.scheduleRecheckMs)), token);
      throw new DelayedError();
    }
    const rate = rateOf(r.spec);
    if (rate) {
      // The slices' delays are the plan; the pacer enforces the rate, also when delayed slices
      // all came due at once (Redis or every worker away for a while, a window opening).
      const perMinute = currentRate(rate, await this.deps.store.state.rateProgress(rolloutId));
      const wait = await this.deps.store.state.pace(rolloutId, Math.ceil((count * 60_000) / perMinute), this.options.paceHorizonMs);
      if (wait > 0) {
        await job.moveToDelayed(Date.now() + wait, token);
        throw new DelayedError();
      }
    }
    const ids = job.data.deviceIds ?? await this.deps.store.state.waveMembers(rolloutId, wave, offset, count);
    const maxInFlight = r.spec.maxInFlight;
    if (maxInFlight !== undefined) {
      // The blast-radius gate (blast-radius.ts): room in flight, and the wave's threshold not crossed.
      const gate = await this.deps.store.state.admitSlice(rolloutId, wave, maxInFlight, r.spec.waves[wave]!.failureThreshold, this.now(), ids);
      if (gate !== 'admitted') {
        await job.moveToDelayed(Date.now() + (gate === 'tripped' ? this.options.heldSliceDelayMs : this.options.inFlightRetryMs), token);
        throw new DelayedError();
      }
    }
    const prepared = await this.deps.store.state.prepareSlice(r, ids, this.now());
    const counters = prepared.map((p) => p.counter);
    const signers = new Map<number, Promise<DirectiveSignFn>>();
    const publishes: Promise<void>[] = [];
    ids.forEach((deviceId, i) => {
      const counter = counters[i]!;
      if (counter <= 0) return;
      // Signed with the issue time recorded when the counter was allocated: a retried slice
      // (and the reconciler) produce the very same bytes.
      const issuedAt = prepared[i]!.issuedAt;
      let sign = signers.get(issuedAt);
      if (!sign) signers.set(issuedAt, (sign = this.signerFor(r, wave, 'install', issuedAt)));
      publishes.push(sign.then((s) => publishDirective(this.deps.mqtt, deviceId, s(deviceId, counter))));
    });
    await Promise.all(publishes);
    // An abort that landed while this slice was signing found these devices still queued: they
    // now hold an install directive, so they get their cancel from here, after it.
    const after = await this.deps.store.get(rolloutId);
    if (after?.status === 'aborted') {
      const published = ids.filter((_, i) => counters[i]! > 0);
      if (published.length > 0) {
        await this.cancelQueue.add('cancel', { rolloutId, deviceIds: published, issuedAt: this.now() }, { jobId: `cancel|${rolloutId}|late|${wave}|${slice}`, removeOnComplete: true, removeOnFail: this.options.failedJobsKept, attempts: this.options.cancelAttempts, backoff: { type: 'exponential', delay: this.options.retryBackoffMs } });
      }
    }
    const done = await this.deps.store.state.markNotified(rolloutId, wave, slice, slices, this.now(), ids);
    if (done) await this.deps.events.emit({ type: 'wave.baking', rolloutId, wave });
  }

  private async processCancel(job: Job<CancelJob>): Promise<void> {
    const { rolloutId, deviceIds, issuedAt } = job.data;
    const r = await this.deps.store.require(rolloutId);
    const sign = await this.signerFor(r, r.currentWave, 'cancel', issuedAt);
    const counters = await this.deps.store.state.cancelCounters(rolloutId, deviceIds);
    await Promise.all(deviceIds.map((id, i) => (counters[i]! > 0 ? publishDirective(this.deps.mqtt, id, sign(id, counters[i]!)) : undefined)));
  }

  /** Signs directives of one rollout, wave and issue time (the reconciler re-signs with it). */
  async signerFor(r: RolloutRecord, wave: number, action: 'install' | 'cancel', issuedAt: number): Promise<DirectiveSignFn> {
    const [release, root] = await Promise.all([this.deps.releases.get(r.releaseId), this.deps.roots.current()]);
    if (!release) throw new RolloutError('release_not_found', `release ${r.releaseId} vanished`);
    if (!root) throw new RolloutError('no_root', 'no root published');
    // Devices skip roots they hold, so the whole chain serves every device.
    const roots: RootEnvelope[] = await this.deps.roots.chainSince(1);
    const policy = { mode: r.spec.policy.mode, ...(r.spec.policy.deadline ? { deadline: r.spec.policy.deadline } : {}), ...(r.spec.policy.window ? { window: r.spec.policy.window } : {}) };
    return this.deps.signer.forContext({
      rolloutId: r.id,
      wave,
      action,
      manifestSha256: r.manifestSha256,
      rootVersion: root.signed.version,
      issuedAt,
      ttlSeconds: r.spec.directiveTtlSeconds,
      policy,
      release: release.envelope,
      roots,
    });
  }

  private async emitCountsIfChanged(id: string, force = false): Promise<void> {
    const view = await this.deps.store.view(id);
    const snapshot = JSON.stringify([view.counts, view.reasons, view.waves.map((w) => [w.status, w.counts])]);
    if (!force && this.lastCounts.get(id) === snapshot) return;
    this.lastCounts.set(id, snapshot);
    await this.deps.events.emit({
      type: 'rollout.counts',
      rolloutId: id,
      counts: view.counts,
      reasons: view.reasons,
      waves: view.waves.map((w) => ({ index: w.index, status: w.status, counts: w.counts })),
    });
  }
}
