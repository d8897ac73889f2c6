// One device: reacts to directive messages, runs the install job, reports status. The state
// machine lives in classify-directive.ts (checks), policy-gate.ts (policy) and install-job.ts
// (steps); this class wires them to the I/O interfaces and serializes everything that touches
// the record. It does no network, disk or slot I/O of its own.
import { nobleEd25519, parseWireTime, type DirectivePlan, type ReportedState, type StatusSigned } from '../../protocol/index.js';
import type { AgentCounters, AgentDeps, AgentOptions } from './agent-options.js';
import { classifyDirective } from './classify-directive.js';
import { systemClock } from './clock.js';
import { DEFAULT_AGENT_CONFIG, type AgentConfig } from './config.js';
import { deviceKeyOf, type DeviceRecord } from './device-state.js';
import { AgentError, isAgentError } from './errors.js';
import { runInstallJob } from './install-job.js';
import { dropJob, jobFromPlan } from './job.js';
import { silentAgentLogger, type AgentLogger } from './logger.js';
import { OutboxSender } from './outbox-sender.js';
import { decideInstall } from './policy-gate.js';
import { RecordKeeper } from './record-keeper.js';
import type { ReportFields } from './reports.js';

export class DeviceAgent {
  readonly deviceId: string;
  private readonly deps: Required<Omit<AgentDeps, 'logger'>> & { logger: AgentLogger };
  private readonly config: AgentConfig;
  private keeper!: RecordKeeper;
  private job: { controller: AbortController; task: Promise<void> } | undefined;
  private serialChain: Promise<void> = Promise.resolve();
  private recheckTimer: NodeJS.Timeout | undefined;
  private readonly outbox: OutboxSender;
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
    this.outbox = new OutboxSender({
      transport: this.deps.transport,
      retryMs: this.config.reportRetryMs,
      head: () => this.record.outbox[0],
      stopped: () => this.stopped,
      acknowledged: async (seq) => {
        await this.keeper.commit((r) => ({ ...r, outbox: r.outbox.filter((e) => e.seq !== seq) }));
      },
    });
  }

  /** Loads the record, resumes or reverts unfinished work, then connects. */
  async start(): Promise<void> {
    const record = await this.deps.store.load(this.deviceId);
    if (!record) throw new AgentError('state_missing', `no record for ${this.deviceId}`);
    this.keeper = new RecordKeeper(record, {
      store: this.deps.store,
      signer: { key: deviceKeyOf(record, this.deps.ed25519), ed25519: this.deps.ed25519 },
      clock: this.deps.clock,
      maxOutbox: this.config.maxOutbox,
      ...(this.options.attributes ? { attributes: this.options.attributes } : {}),
      stopped: () => this.stopped,
      die: (error) => this.die(error),
    });
    const resumed = this.serial(() => this.resume());
    this.deps.transport.start({
      onDirective: (bytes) => void this.serial(() => this.onDirective(bytes)),
      onConnected: () => this.outbox.wake(),
      onDisconnected: () => undefined,
    });
    await resumed;
  }

  /** Stops timers, lets the current step wind down (the job stays persisted), disconnects. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.recheckTimer);
    this.outbox.stop();
    await this.stopJob();
    await this.serialChain;
    await this.keeper?.settled();
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
      if (!isAgentError(error, 'stopped')) this.die(error as Error);
    });
    return this.serialChain;
  }

  private get record(): DeviceRecord {
    return this.keeper.record;
  }

  /** Applies a change and its report as one persisted step, then tells listeners and the outbox. */
  private async commit(change: (record: DeviceRecord) => DeviceRecord, report?: ReportFields): Promise<void> {
    const body = await this.keeper.commit(change, report);
    if (body) {
      this.lastState = body.state;
      for (const listener of this.reportListeners) listener(body);
    }
    this.outbox.wake();
  }

  private die(error: Error): void {
    if (this.fatalError) return;
    this.fatalError = error;
    this.stopped = true;
    clearTimeout(this.recheckTimer);
    this.outbox.stop();
    this.job?.controller.abort();
    this.deps.logger.error({ deviceId: this.deviceId, code: (error as { code?: string }).code }, 'agent stopped on a fatal error');
    for (const listener of this.fatalListeners) listener(error);
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
    const accepted = (r: DeviceRecord): DeviceRecord => ({ ...r, root: plan.root, counter: d.counter, lastRejected: null, ...(plan.ownership ? { ownership: plan.ownership } : {}) });
    const ids = { rolloutId: d.rolloutId, counter: d.counter };
    if (plan.action === 'cancel') {
      // docs/protocol.md#what-a-device-does: the orchestrator sets `canceled`; the device stops uncommitted work and says nothing.
      // docs/protocol.md#owner-mode: a transfer or revocation also ends work the previous owner authorized.
      const ownerChanged = plan.ownership !== undefined && plan.ownership.version !== this.record.ownership?.version;
      const cancels = this.record.job !== null && (this.record.job.rolloutId === d.rolloutId || ownerChanged);
      if (cancels) await this.abandonJob();
      await this.commit((r) => (cancels ? dropJob(accepted(r)) : accepted(r)));
      return;
    }
    // A newer install supersedes whatever was in flight.
    await this.abandonJob();
    if (plan.alreadyInstalled) {
      // docs/protocol.md#device-checks-in-order: an equal sequence is reported as succeeded without download.
      await this.commit((r) => dropJob(accepted(r)), { ...ids, state: 'succeeded' });
      return;
    }
    const pending = jobFromPlan(plan, this.record, undefined);
    const decided = jobFromPlan(plan, this.record, this.options.consent?.(pending));
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
    // docs/protocol.md#status-report: a storage that never ran (fresh or reset) starts a new
    // epoch, so the orchestrator takes its restarted `seq` instead of dropping it as stale. A
    // later restart keeps the epoch (seq goes on from the record).
    if (this.record.epoch === undefined) {
      const epoch = Math.floor(this.deps.clock.now());
      await this.commit((r) => ({ ...r, epoch }));
    }
    const job = this.record.job;
    if (!job) {
      // The bootloader follows the record: a commit the record never saw is undone.
      await this.deps.slots.revert(this.record.activeSlot);
    } else if (job.step === 'deferred') {
      await this.reevaluate();
    } else {
      this.startJob();
    }
    this.outbox.wake();
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
        if (signal.aborted) return Promise.reject(new AgentError('stopped', 'job stopped'));
        return this.commit(change, report ? { ...ids, ...report } : undefined);
      },
    }).catch((error: unknown) => {
      if (!isAgentError(error, 'stopped') && !signal.aborted) this.die(error as Error);
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
