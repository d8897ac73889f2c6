// One device: reacts to directive messages, runs the install job, reports status. The state
// machine lives in classify-directive.ts (checks), policy-gate.ts (policy) and install-job.ts
// (steps); this class wires them to the I/O interfaces and serializes everything that touches
// the record. It does no network, disk or slot I/O of its own.
import { nobleEd25519, parseWireTime, type Consent, type DirectivePlan, type Ed25519, type ReportedState, type SigningKey, type StatusSigned } from '../../protocol/index.js';
import { classifyDirective } from './classify-directive.js';
import { systemClock, type Clock } from './clock.js';
import { DEFAULT_AGENT_CONFIG, type AgentConfig } from './config.js';
import { deviceKeyOf, otherSlot, type DeviceRecord, type Job } from './device-state.js';
import { AgentError, isAgentError } from './errors.js';
import type { Fetcher } from './fetcher.js';
import { runInstallJob } from './install-job.js';
import { silentAgentLogger, type AgentLogger } from './logger.js';
import { decideInstall, type LocalWindow } from './policy-gate.js';
import { withReport, type ReportFields } from './reports.js';
import type { Slots } from './slots.js';
import type { DeviceStore } from './store.js';
import type { Transport } from './transport.js';

export interface AgentDeps {
  store: DeviceStore;
  transport: Transport;
  fetcher: Fetcher;
  slots: Slots;
  clock?: Clock;
  /** Signature backend: noble by default (portable); the simulator passes nodeEd25519. */
  ed25519?: Ed25519;
  logger?: AgentLogger;
}

export interface AgentOptions {
  deviceId: string;
  config?: Partial<AgentConfig>;
  /** The owner's answer to an optional update; undefined (not answered yet) defers it. */
  consent?: (job: Job) => Consent;
  /** A device-local maintenance window (UTC), on top of the directive's. */
  localWindow?: LocalWindow;
}

/** Counters of what was not reported, and why. */
export interface AgentCounters {
  duplicates: number;
  repeated: number;
  unreportable: number;
}

export class DeviceAgent {
  readonly deviceId: string;
  private readonly deps: Required<Omit<AgentDeps, 'logger'>> & { logger: AgentLogger };
  private readonly config: AgentConfig;
  private record!: DeviceRecord;
  private key!: SigningKey;
  private job: { controller: AbortController; task: Promise<void> } | undefined;
  private serialChain: Promise<void> = Promise.resolve();
  private saveChain: Promise<void> = Promise.resolve();
  private recheckTimer: NodeJS.Timeout | undefined;
  private pumpTimer: NodeJS.Timeout | undefined;
  private pumping = false;
  private pumpAgain = false;
  private stopped = false;
  private fatalError: Error | undefined;
  private readonly reportListeners = new Set<(report: StatusSigned) => void>();
  private readonly fatalListeners = new Set<(error: Error) => void>();
  readonly counters: AgentCounters = { duplicates: 0, repeated: 0, unreportable: 0 };
  /** The last state this device reported (persisted to its outbox), for live counts. */
  lastState: ReportedState | undefined;

  constructor(deps: AgentDeps, private readonly options: AgentOptions) {
    this.deviceId = options.deviceId;
    this.deps = { clock: systemClock, ed25519: nobleEd25519, logger: silentAgentLogger, ...deps };
    this.config = { ...DEFAULT_AGENT_CONFIG, ...options.config };
  }

  /** Loads the record, resumes or reverts unfinished work, then connects. */
  async start(): Promise<void> {
    const record = await this.deps.store.load(this.deviceId);
    if (!record) throw new AgentError('ERR_STATE_MISSING', `no record for ${this.deviceId}`);
    this.record = record;
    this.key = deviceKeyOf(record, this.deps.ed25519);
    const resumed = this.serial(() => this.resume());
    this.deps.transport.start({
      onDirective: (bytes) => void this.serial(() => this.onDirective(bytes)),
      onConnected: () => this.pump(),
      onDisconnected: () => undefined,
    });
    await resumed;
  }

  /** Stops timers, lets the current step wind down (the job stays persisted), disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.recheckTimer);
    clearTimeout(this.pumpTimer);
    await this.stopJob();
    await this.serialChain;
    await this.saveChain;
    await this.deps.transport.stop();
  }

  onReport(listener: (report: StatusSigned) => void): () => void {
    this.reportListeners.add(listener);
    return () => this.reportListeners.delete(listener);
  }

  /** Called once if persisting fails: the agent has stopped acting (a real device would reboot). */
  onFatal(listener: (error: Error) => void): () => void {
    this.fatalListeners.add(listener);
    return () => this.fatalListeners.delete(listener);
  }

  get fatal(): Error | undefined {
    return this.fatalError;
  }

  /** The current record (an immutable value: tests, tools). */
  snapshot(): DeviceRecord {
    return this.record;
  }

  /** The owner answered an optional update. */
  setConsent(answer: 'granted' | 'declined'): Promise<void> {
    return this.serial(async () => {
      if (this.record.job?.step !== 'deferred') return;
      await this.commit((r) => (r.job ? { ...r, job: { ...r.job, consent: answer } } : r));
      await this.reevaluate();
    });
  }

  /** Re-evaluates a deferred install now (the timer does this every `deferRecheckMs`). */
  recheck(): Promise<void> {
    return this.serial(() => this.reevaluate());
  }

  // ---- serialization and persistence ----

  private serial(fn: () => Promise<void>): Promise<void> {
    const run = this.serialChain.then(() => (this.stopped ? undefined : fn()));
    this.serialChain = run.catch((error: unknown) => {
      if (!isAgentError(error, 'ERR_STOPPED')) this.die(error as Error);
    });
    return this.serialChain;
  }

  private persist(): Promise<void> {
    const snapshot = this.record;
    const saved = this.saveChain.then(() => this.deps.store.save(snapshot));
    this.saveChain = saved.catch(() => undefined);
    return saved.catch((error: unknown) => {
      this.die(error as Error);
      throw new AgentError('ERR_STOPPED', 'persisting failed');
    });
  }

  /** Applies a change and its report as one persisted step; nothing once stopped. */
  private async commit(change: (record: DeviceRecord) => DeviceRecord, report?: ReportFields): Promise<void> {
    if (this.stopped) throw new AgentError('ERR_STOPPED', 'agent stopped');
    let next = change(this.record);
    let body: StatusSigned | undefined;
    if (report) {
      ({ record: next, report: body } = withReport(next, report, this.deps.clock.now(), { key: this.key, ed25519: this.deps.ed25519 }, this.config.maxOutbox));
    }
    this.record = next;
    await this.persist();
    if (body) {
      this.lastState = body.state;
      for (const listener of this.reportListeners) listener(body);
    }
    this.pump();
  }

  private die(error: Error): void {
    if (this.fatalError) return;
    this.fatalError = error;
    this.stopped = true;
    clearTimeout(this.recheckTimer);
    clearTimeout(this.pumpTimer);
    this.job?.controller.abort();
    this.deps.logger.error({ deviceId: this.deviceId, code: (error as { code?: string }).code }, 'agent stopped on a fatal error');
    for (const listener of this.fatalListeners) listener(error);
  }

  // ---- outbox: reports persisted first, sent at QoS 1, removed once acknowledged ----

  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.drain().finally(() => {
      this.pumping = false;
    });
  }

  private async drain(): Promise<void> {
    const { transport } = this.deps;
    do {
      this.pumpAgain = false;
      while (!this.stopped && transport.connected) {
        const head = this.record.outbox[0];
        if (!head) break;
        try {
          await transport.publishStatus(new TextEncoder().encode(head.body));
        } catch {
          // Not acknowledged: keep it; retry on the next connect, or soon if still connected.
          if (!this.stopped && transport.connected) {
            clearTimeout(this.pumpTimer);
            this.pumpTimer = setTimeout(() => this.pump(), this.config.reportRetryMs);
            this.pumpTimer.unref();
          }
          return;
        }
        if (this.stopped) return;
        this.record = { ...this.record, outbox: this.record.outbox.filter((e) => e.seq !== head.seq) };
        try {
          await this.persist();
        } catch {
          return;
        }
      }
    } while (this.pumpAgain && !this.stopped);
  }

  // ---- directives ----

  private async onDirective(bytes: Uint8Array): Promise<void> {
    const outcome = classifyDirective(this.record, bytes, this.deps.clock.now(), this.deps.ed25519);
    const log = this.deps.logger;
    switch (outcome.kind) {
      case 'ignore':
        this.counters[outcome.why === 'duplicate' ? 'duplicates' : outcome.why]++;
        log.debug({ deviceId: this.deviceId, why: outcome.why, reason: outcome.reason }, 'directive ignored');
        return;
      case 'reject':
        log.info({ deviceId: this.deviceId, rolloutId: outcome.rolloutId, reason: outcome.reason }, 'directive rejected');
        await this.commit((r) => ({ ...r, lastRejected: { rolloutId: outcome.rolloutId, counter: outcome.counter } }), {
          rolloutId: outcome.rolloutId, counter: outcome.counter, state: 'rejected', reason: outcome.reason, detail: outcome.detail,
        });
        return;
      case 'accept':
        await this.accept(outcome.plan);
    }
  }

  private async accept(plan: DirectivePlan): Promise<void> {
    const d = plan.directive;
    // TUF: persist the newer root and the counter only after the whole message verified.
    const accepted = (r: DeviceRecord): DeviceRecord => ({ ...r, root: plan.root, counter: d.counter, lastRejected: null });
    const ids = { rolloutId: d.rolloutId, counter: d.counter };
    if (plan.action === 'cancel') {
      // PROTOCOL.md: the orchestrator sets `canceled`; the device stops uncommitted work and says nothing.
      const cancels = this.record.job?.rolloutId === d.rolloutId;
      if (cancels) await this.abandonJob();
      await this.commit((r) => (cancels ? dropJob(accepted(r)) : accepted(r)));
      return;
    }
    // A newer install supersedes whatever was in flight.
    await this.abandonJob();
    if (plan.alreadyInstalled) {
      // PROTOCOL.md: an equal sequence is reported as succeeded without download.
      await this.commit((r) => dropJob(accepted(r)), { ...ids, state: 'succeeded' });
      return;
    }
    const job: Job = {
      rolloutId: d.rolloutId,
      counter: d.counter,
      manifestSha256: plan.manifestSha256,
      release: { releaseId: plan.release.releaseId, version: plan.release.version, sequence: plan.release.sequence, payload: plan.release.payload },
      policy: d.policy,
      directiveExpiresAt: d.expiresAt,
      step: 'deferred',
      targetSlot: otherSlot(this.record.activeSlot),
    };
    const consent = this.options.consent?.(job);
    const decided = { ...job, ...(consent ? { consent } : {}) };
    switch (decideInstall(d.policy, this.deps.clock.now(), decided.consent, this.options.localWindow)) {
      case 'decline':
        await this.commit((r) => dropJob(accepted(r)), { ...ids, state: 'rejected', reason: 'declined', detail: 'declined by the owner' });
        return;
      case 'defer':
        await this.commit((r) => ({ ...accepted(r), job: decided }), { ...ids, state: 'deferred' });
        this.scheduleRecheck();
        return;
      case 'proceed':
        await this.commit((r) => ({ ...accepted(r), job: { ...decided, step: 'downloading' } }), { ...ids, state: 'accepted' });
        this.startJob();
    }
  }

  // ---- deferral ----

  private scheduleRecheck(): void {
    clearTimeout(this.recheckTimer);
    if (this.stopped) return;
    this.recheckTimer = setTimeout(() => void this.recheck(), this.config.deferRecheckMs);
    this.recheckTimer.unref();
  }

  private async reevaluate(): Promise<void> {
    const job = this.record.job;
    if (!job || job.step !== 'deferred') return;
    const now = this.deps.clock.now();
    const ids = { rolloutId: job.rolloutId, counter: job.counter };
    const expiresAt = parseWireTime(job.directiveExpiresAt);
    if (expiresAt === undefined || now >= expiresAt) {
      // Deferred past the directive's lifetime (anti-freeze): it no longer authorizes an install.
      await this.commit(dropJob, { ...ids, state: 'rejected', reason: 'directive_expired', detail: 'expired while deferred' });
      return;
    }
    const consent = job.consent ?? this.options.consent?.(job);
    switch (decideInstall(job.policy, now, consent, this.options.localWindow)) {
      case 'decline':
        await this.commit(dropJob, { ...ids, state: 'rejected', reason: 'declined', detail: 'declined by the owner' });
        return;
      case 'defer':
        this.scheduleRecheck();
        return;
      case 'proceed':
        await this.commit((r) => ({ ...r, job: { ...job, ...(consent ? { consent } : {}), step: 'downloading' } }), { ...ids, state: 'accepted' });
        this.startJob();
    }
  }

  // ---- the running job ----

  private async resume(): Promise<void> {
    const job = this.record.job;
    if (!job) {
      // The bootloader follows the record: a commit the record never saw is undone.
      await this.deps.slots.revert(this.record.activeSlot);
    } else if (job.step === 'deferred') {
      await this.reevaluate();
    } else {
      this.startJob();
    }
    this.pump();
  }

  private startJob(): void {
    if (this.stopped || this.job) return;
    const controller = new AbortController();
    const signal = controller.signal;
    const job = this.record.job!;
    const ids = { rolloutId: job.rolloutId, counter: job.counter };
    const task = runInstallJob({
      slots: this.deps.slots,
      fetcher: this.deps.fetcher,
      clock: this.deps.clock,
      config: this.config,
      signal,
      record: () => this.record,
      commit: (change, report) => {
        if (signal.aborted) return Promise.reject(new AgentError('ERR_STOPPED', 'job stopped'));
        return this.commit(change, report ? { ...ids, ...report } : undefined);
      },
    }).catch((error: unknown) => {
      if (!isAgentError(error, 'ERR_STOPPED') && !signal.aborted) this.die(error as Error);
    }).finally(() => {
      if (this.job?.controller === controller) this.job = undefined;
    });
    this.job = { controller, task };
  }

  private async stopJob(): Promise<void> {
    const running = this.job;
    if (!running) return;
    running.controller.abort();
    await running.task;
  }

  /** Stops the current job and returns the bootloader to the committed slot (before the record forgets the job). */
  private async abandonJob(): Promise<void> {
    clearTimeout(this.recheckTimer);
    await this.stopJob();
    if (this.record.job) await this.deps.slots.revert(this.record.activeSlot);
  }
}

/** The record without its job, and without any image no one committed. */
function dropJob(record: DeviceRecord): DeviceRecord {
  const keep = (slot: 'A' | 'B') => (record.slots[slot]?.committed ? record.slots[slot] : null);
  return { ...record, job: null, slots: { A: keep('A'), B: keep('B') } };
}
