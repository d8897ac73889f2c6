// Desired-state reconciliation: which directive each device should hold is derived from Redis
// alone, so no outcome depends on the broker's memory. A sweep (periodic, and at once after the
// broker was away) republishes every unsettled device's directive byte-identical and renews
// those close to expiry; a device that comes online or reports `directive_expired` gets the
// same treatment alone. Publishes are paced so a sweep never floods the broker. It changes no
// rollout outcome: entries move only through the state layer's transitions (state/rollouts).
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../../runtime/logger.js';
import { publishDirective } from '../mqtt/service-client.js';
import type { DirectiveRepair } from '../ingestion/start-ingestion.js';
import { directiveAction } from './directive-action.js';
import type { DirectiveSignFn, RolloutEngine } from './engine.js';
import type { DeviceRolloutEntry } from '../../state/rollouts/entry.js';
import { ReconcileState } from '../../state/rollouts/reconcile-state.js';
import type { RolloutRecord, RolloutStore } from './store.js';

export interface ReconcileOptions {
  /** Every this many ms one orchestrator sweeps every active rollout; 0 disables the timer. */
  sweepIntervalMs: number;
  /** Directives this process publishes per second on reconciliation (sweeps and single devices). */
  republishPerSecond: number;
  /** Devices read per Redis round trip of a sweep. */
  pageSize: number;
  /** Share of a directive's lifetime left at which a device that has not started gets a fresh one. */
  renewFraction: number;
  /** Lifetime of the sweep lock, renewed every page; a dead sweeper's lock lapses after it. */
  lockMs: number;
}

export const DEFAULT_RECONCILE_OPTIONS: ReconcileOptions = { sweepIntervalMs: 60_000, republishPerSecond: 500, pageSize: 500, renewFraction: 0.25, lockMs: 30_000 };

/** Rollouts listed per Redis round trip of a sweep. */
const ROLLOUT_PAGE = 100;
/** Devices queued for a single-device check (presence online, expired report) per round. */
const DEVICE_BATCH = 200;

export interface ReconcileDeps {
  store: RolloutStore;
  engine: RolloutEngine;
  mqtt: MqttClient;
  logger: Logger;
  /** Epoch seconds. */
  now?: () => number;
  options?: Partial<ReconcileOptions>;
}

interface Target { rollout: RolloutRecord; deviceId: string; entry: DeviceRolloutEntry | undefined; issuedAt: number | undefined }

const ACTIVE = new Set(['running', 'paused']);

export class DirectiveReconciler implements DirectiveRepair {
  private readonly options: ReconcileOptions;
  private readonly now: () => number;
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<void>;
  private sweepAgain = false;
  private nextFreeMs = 0;
  private stopped = false;
  /** Devices waiting for a single-device check; the value forces a reissue of that counter. */
  private readonly due = new Map<string, { rolloutId?: string; expiredCounter?: number }>();
  private draining?: Promise<void>;
  private readonly state: ReconcileState;

  constructor(private readonly deps: ReconcileDeps) {
    this.options = { ...DEFAULT_RECONCILE_OPTIONS, ...deps.options };
    this.state = new ReconcileState(deps.store.redis, deps.store.prefix);
    this.now = deps.now ?? (() => Math.floor(Date.now() / 1000));
  }

  start(): void {
    if (this.options.sweepIntervalMs > 0) {
      this.timer = setInterval(() => this.requestSweep('periodic'), this.options.sweepIntervalMs);
      this.timer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await Promise.all([this.sweeping, this.draining]);
  }

  /** Starts a sweep now, or one more right after the one running (the broker may have lost what it sent). */
  requestSweep(why: string): void {
    if (this.stopped) return;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = this.sweep(why)
      .then(() => undefined, (error: Error) => this.deps.logger.warn({ err: error.message, why }, 'directive sweep failed; the next one retries'))
      .finally(() => {
        this.sweeping = undefined;
        if (this.sweepAgain) {
          this.sweepAgain = false;
          this.requestSweep('again');
        }
      });
  }

  /** Devices that just came online: each gets its directive again, or a fresh one if it is (nearly) expired. */
  devicesOnline(deviceIds: Iterable<string>): void {
    for (const id of deviceIds) if (!this.due.has(id)) this.due.set(id, {});
    this.drain();
  }

  /** A device reported its directive `counter` of `rolloutId` expired: it gets a fresh one. */
  directiveExpired(deviceId: string, rolloutId: string, counter: number): void {
    this.due.set(deviceId, { rolloutId, expiredCounter: counter });
    this.drain();
  }

  /** One pass over every active rollout; returns when done (tests call it directly). */
  async sweep(why = 'requested'): Promise<{ republished: number; reissued: number }> {
    const token = randomBytes(8).toString('hex');
    // One orchestrator sweeps at a time; the others' sweeps would only repeat its publishes.
    if (!(await this.state.acquireSweepLock(token, this.options.lockMs))) return { republished: 0, reissued: 0 };
    const totals = { republished: 0, reissued: 0 };
    try {
      let before: number | undefined;
      do {
        const page = await this.deps.store.state.list(ROLLOUT_PAGE, before);
        before = page.next;
        for (const id of page.ids) {
          const rollout = await this.deps.store.get(id);
          if (!rollout || !ACTIVE.has(rollout.status)) continue;
          for (let wave = 0; wave <= rollout.currentWave && wave < rollout.waveCount; wave++) {
            for (let offset = 0; !this.stopped; offset += this.options.pageSize) {
              const ids = await this.deps.store.state.waveMembers(id, wave, offset, this.options.pageSize);
              if (ids.length === 0) break;
              await this.state.renewSweepLock(this.options.lockMs);
              const done = await this.reconcile(await this.read(rollout, ids));
              totals.republished += done.republished;
              totals.reissued += done.reissued;
              if (ids.length < this.options.pageSize) break;
            }
          }
        }
      } while (before !== undefined && !this.stopped);
    } finally {
      await this.state.releaseSweepLock(token);
    }
    if (totals.republished + totals.reissued > 0) this.deps.logger.info({ why, ...totals }, 'directives reconciled');
    return totals;
  }

  private drain(): void {
    if (this.draining || this.stopped) return;
    this.draining = this.drainDue()
      .catch((error: Error) => this.deps.logger.warn({ err: error.message }, 'device directive check failed; the sweep covers it'))
      .finally(() => {
        this.draining = undefined;
        if (this.due.size > 0 && !this.stopped) this.drain();
      });
  }

  private async drainDue(): Promise<void> {
    while (this.due.size > 0 && !this.stopped) {
      const batch = [...this.due.entries()].slice(0, DEVICE_BATCH);
      for (const [id] of batch) this.due.delete(id);
      // Which rollout each device belongs to now (the newest one owns it).
      const owners = await this.deps.store.state.deviceOwners(batch.map(([id]) => id));
      const byRollout = new Map<string, Array<{ id: string; expiredCounter?: number }>>();
      batch.forEach(([id, why], i) => {
        const rolloutId = why.rolloutId ?? owners[i];
        if (!rolloutId || (why.rolloutId && owners[i] !== why.rolloutId)) return;
        let list = byRollout.get(rolloutId);
        if (!list) byRollout.set(rolloutId, (list = []));
        list.push({ id, ...(why.expiredCounter !== undefined ? { expiredCounter: why.expiredCounter } : {}) });
      });
      for (const [rolloutId, devices] of byRollout) {
        const rollout = await this.deps.store.get(rolloutId);
        if (!rollout || !ACTIVE.has(rollout.status)) continue;
        const targets = await this.read(rollout, devices.map((d) => d.id));
        const forced = new Map(devices.filter((d) => d.expiredCounter !== undefined).map((d) => [d.id, d.expiredCounter!]));
        await this.reconcile(targets, forced);
      }
    }
  }

  private async read(rollout: RolloutRecord, ids: string[]): Promise<Target[]> {
    const read = await this.deps.store.state.entriesWithIssued(rollout.id, ids);
    return ids.map((deviceId, i) => ({ rollout, deviceId, entry: read[i]!.entry, issuedAt: read[i]!.issuedAt }));
  }

  /** Republishes or reissues each target's directive; `forced` devices get a fresh one for that counter. */
  private async reconcile(targets: Target[], forced = new Map<string, number>()): Promise<{ republished: number; reissued: number }> {
    const now = this.now();
    const republish: Target[] = [];
    const reissue: Array<{ target: Target; counter: number }> = [];
    for (const t of targets) {
      const expired = forced.get(t.deviceId);
      if (expired !== undefined) {
        if (t.entry && t.entry.counter === expired) reissue.push({ target: t, counter: expired });
        continue;
      }
      const action = directiveAction({ entry: t.entry, issuedAt: t.issuedAt, ttlSeconds: t.rollout.spec.directiveTtlSeconds, nowSeconds: now, renewFraction: this.options.renewFraction });
      if (action === 'republish') republish.push(t);
      else if (action === 'reissue') reissue.push({ target: t, counter: t.entry!.counter });
    }
    const published: Array<{ t: Target; counter: number; issuedAt: number }> = republish.map((t) => ({ t, counter: t.entry!.counter, issuedAt: t.issuedAt! }));
    if (reissue.length > 0) {
      const rollout = reissue[0]!.target.rollout;
      const counters = await this.deps.store.state.reissue(rollout.id, now, reissue.map(({ target, counter }) => ({ deviceId: target.deviceId, counter })));
      reissue.forEach(({ target }, i) => {
        const counter = counters[i]!;
        if (counter > 0) published.push({ t: { ...target, entry: { ...target.entry!, counter } }, counter, issuedAt: now });
      });
    }
    const reissued = published.length - republish.length;
    await this.publish(published);
    if (published.length > 0) await this.state.count({ republished: republish.length, reissued });
    return { republished: republish.length, reissued };
  }

  private async publish(items: Array<{ t: Target; counter: number; issuedAt: number }>): Promise<void> {
    const signers = new Map<string, Promise<DirectiveSignFn>>();
    const chunk = Math.max(1, Math.ceil(this.options.republishPerSecond / 10));
    for (let i = 0; i < items.length && !this.stopped; i += chunk) {
      const part = items.slice(i, i + chunk);
      await this.pace(part.length);
      await Promise.all(part.map(async ({ t, counter, issuedAt }) => {
        const wave = t.entry!.wave;
        const key = `${t.rollout.id}|${wave}|${issuedAt}`;
        let sign = signers.get(key);
        if (!sign) signers.set(key, (sign = this.deps.engine.signerFor(t.rollout, wave, 'install', issuedAt)));
        await publishDirective(this.deps.mqtt, t.deviceId, (await sign)(t.deviceId, counter));
      }));
    }
  }

  /** Waits until `n` more publishes fit in republishPerSecond (time not used is not saved up). */
  private async pace(n: number): Promise<void> {
    const now = Date.now();
    const start = Math.max(now, this.nextFreeMs);
    this.nextFreeMs = start + (n * 1000) / this.options.republishPerSecond;
    if (start > now) await sleep(start - now);
  }
}
