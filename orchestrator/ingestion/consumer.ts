// Status ingestion: one member of the ingestion group. Each orchestrator process runs one; the
// members split the intake shards between them (state/intake/shard-leases.ts: a lease per shard,
// an exactly fair share each), so every report is applied by one member, and a device's reports,
// which all sit in one shard, in order. A member reads its shards in batches, verifies each
// report with the device's registered key, applies it with one Lua call each in one pipeline,
// then acknowledges and deletes the batch. When it takes a shard over (a member died or left) it
// first applies what the previous owner left pending, then reads new entries. Applying is
// seq-guarded, so a report applied twice (a paused member waking up) changes nothing.
import type { RedisClient as Redis } from '../../state/redis.js';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_STATUS_EPOCH, formatWireTime, parseDeviceTopic, verifyStatusReport, PRESENCE_OFFLINE, PRESENCE_ONLINE, type StatusSigned } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../../runtime/logger.js';
import { recordPresence, type PresenceChange } from '../../state/registry/index.js';
import {
  DEFAULT_INTAKE_SHARDS,
  assignedShards,
  claimPending,
  ensureIntakeGroups,
  ensureIntakeLayout,
  forgetIdleConsumers,
  heartbeatMember,
  holdShardLease,
  ingestOutcomesKey,
  leaveMembers,
  queueAcks,
  readShards,
  releaseShardLease,
  renewShardLeases,
  type IntakeEntry,
  type IntakeLayout,
} from '../../state/intake/index.js';
import { RolloutState } from '../../state/rollouts/rollout-state.js';
import type { StatusApplyResult, StatusReportInput } from '../../state/rollouts/status-apply.js';
import { DeviceKeyCache } from './device-keys.js';

export interface IngestOptions {
  batchSize: number;
  blockMs: number;
  /** After a small batch, wait this long so the next one is worth a round of pipelines. */
  lingerMs: number;
  /** Intake shards (FLEET_INTAKE_SHARDS); pinned in Redis by the first writer or reader. */
  shards: number;
  /** Heartbeat and lease renewal period. */
  heartbeatMs: number;
  /**
   * Heartbeat and lease lifetime: a member silent this long is dead to the others, who take its
   * shards (and what it left pending) at their next heartbeat.
   */
  leaseMs: number;
  /** One XREADGROUP per shard instead of one over all (a Redis Cluster puts shards in different slots). */
  readPerShard: boolean;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = {
  batchSize: 1_000,
  blockMs: 200,
  lingerMs: 15,
  shards: DEFAULT_INTAKE_SHARDS,
  heartbeatMs: 1_000,
  leaseMs: 5_000,
  readPerShard: false,
};

/** Outcomes counted per report: `applied`, or why it changed nothing. */
export type IngestOutcome =
  | 'applied' | 'stale' | 'unknown_rollout' | 'other_directive' | 'after_terminal' | 'backwards' | 'expired'
  | 'too_large' | 'bad_schema' | 'wrong_topic' | 'bad_signature' | 'unknown_device' | 'bad_topic' | 'presence';

export interface IngestStats {
  outcomes: Partial<Record<IngestOutcome, number>>;
  /** Milliseconds from intake to applied, for the last batch's oldest entry. */
  lagMs: number;
  /** Shards this member reads now. */
  shards: number[];
  /** Entries taken over from a previous owner of a shard. */
  claimed: number;
}

/** The Redis hash of outcome counts, summed over every member (metrics, tests). */
export function ingestStatsKey(prefix: string): string {
  return ingestOutcomesKey(prefix);
}

interface PreparedBatch {
  entries: IntakeEntry[];
  parsed: Array<{ deviceId: string; kind: string; payload: Buffer; receivedAt: number }>;
  /** Presence changes of the batch, in stream order, recorded beside the status apply. */
  presence: PresenceChange[];
  /** Verified reports, in stream order, for the state layer's status apply. */
  reports: StatusReportInput[];
  outcomes: Array<IngestOutcome | StatusSigned>;
  /** Devices whose last presence in the batch is `online`. */
  online: Set<string>;
}

export class StatusConsumer {
  /** This member's name in the group, the heartbeat set and the shard leases. */
  readonly member = `m-${randomBytes(6).toString('hex')}`;
  private readonly rollouts: RolloutState;
  private readonly deviceKeys: DeviceKeyCache;
  private readonly options: IngestOptions;
  private layout?: IntakeLayout;
  private running = false;
  private loop?: Promise<void>;
  private heartbeat?: NodeJS.Timeout;
  private beating?: Promise<void>;
  /** Live members at the last heartbeat (undefined until the first one answered). */
  private members?: string[];
  /** Shards held and read. */
  private readonly owned = new Set<number>();
  /** Shards whose lease was lost: dropped by the loop before its next read. */
  private readonly lost = new Set<number>();
  private lastBalance = 0;
  readonly stats: IngestStats = { outcomes: {}, lagMs: 0, shards: [], claimed: 0 };
  /** Called after each applied batch with the rollouts it touched. */
  onApplied?: (rolloutIds: Set<string>) => void;
  /** Devices whose presence `online` the batch applied (the reconciler checks their directive). */
  onOnline?: (deviceIds: Set<string>) => void;
  /** A device reported its current directive expired (`rejected: directive_expired`): it needs a fresh one. */
  onExpired?: (report: { deviceId: string; rolloutId: string; counter: number }) => void;
  /** Called for each status report read from the intake, before verification (metrics). */
  onReportRead?: (payload: Buffer) => void;
  /** Called for each report applied (once: a replay of it is `stale`), with its wave (metrics). */
  onReportApplied?: (report: StatusSigned, wave: number) => void;

  constructor(
    private readonly redis: Redis,
    private readonly reader: Redis,
    private readonly prefix: string,
    private readonly events: EventLog,
    private readonly logger: Logger,
    options: Partial<IngestOptions> = {},
  ) {
    this.rollouts = new RolloutState(redis, prefix);
    // Key lookups ride the reader connection, so they never queue behind an apply in flight.
    this.deviceKeys = new DeviceKeyCache(reader, prefix);
    this.options = { ...DEFAULT_INGEST_OPTIONS, ...options };
  }

  async start(): Promise<void> {
    this.layout = await ensureIntakeLayout(this.redis, this.prefix, this.options.shards);
    await ensureIntakeGroups(this.redis, this.layout);
    this.running = true;
    await this.beat();
    this.heartbeat = setInterval(() => void this.beat(), this.options.heartbeatMs);
    this.loop = this.run();
  }

  /** Stops reading, finishes the batch in flight, gives the shards back and leaves the group. */
  async stop(): Promise<void> {
    this.running = false;
    clearInterval(this.heartbeat);
    await this.loop;
    await this.beating;
    await Promise.all([...this.owned].map((shard) => releaseShardLease(this.redis, this.prefix, shard, this.member).catch(() => undefined)));
    this.owned.clear();
    this.stats.shards = [];
    await leaveMembers(this.redis, this.prefix, this.member).catch(() => undefined);
  }

  /** Heartbeat and lease renewal, on a timer of their own so a long batch cannot let them lapse. */
  private beat(): Promise<void> {
    if (this.beating) return this.beating;
    this.beating = (async () => {
      try {
        // On the reader connection's sibling: never queued behind a pipeline of applies.
        this.members = await heartbeatMember(this.reader, this.prefix, this.member, this.options.leaseMs);
        const gone = await renewShardLeases(this.reader, this.prefix, [...this.owned], this.member, this.options.leaseMs);
        for (const shard of gone) this.lost.add(shard);
      } catch (error) {
        this.logger.warn({ err: (error as Error).message }, 'ingestion heartbeat failed');
      } finally {
        this.beating = undefined;
      }
    })();
    return this.beating;
  }

  /**
   * Moves toward this member's fair share: drops shards whose lease was lost or that belong to
   * another member now (after the batch in flight is applied, so the next owner starts after
   * it), and takes free shards that are its own, applying what their previous owner left pending
   * before anything new is read from them.
   */
  private async rebalance(inFlight: Promise<void> | undefined): Promise<void> {
    const members = this.members;
    if (!members) return;
    const layout = this.layout!;
    const wanted = new Set(assignedShards(members, this.member, layout.shards));
    const leaving = [...this.owned].filter((shard) => this.lost.has(shard) || !wanted.has(shard));
    if (leaving.length > 0) {
      await inFlight;
      for (const shard of leaving) {
        this.owned.delete(shard);
        if (!this.lost.has(shard)) await releaseShardLease(this.redis, this.prefix, shard, this.member);
      }
    }
    this.lost.clear();
    for (const shard of wanted) {
      if (this.owned.has(shard) || !this.running) continue;
      if (!(await holdShardLease(this.redis, this.prefix, shard, this.member, this.options.leaseMs))) continue;
      await inFlight;
      await this.takeOver(shard, new Set(members));
      this.owned.add(shard);
    }
    this.stats.shards = [...this.owned].sort((a, b) => a - b);
  }

  /** Applies, in order, every entry of `shard` still pending for a previous owner. */
  private async takeOver(shard: number, live: ReadonlySet<string>): Promise<void> {
    let cursor = '0-0';
    do {
      const { next, entries } = await claimPending(this.redis, this.prefix, shard, this.member, cursor, this.options.batchSize);
      if (entries.length > 0) {
        this.stats.claimed += entries.length;
        await this.processBatch(entries);
      }
      cursor = next;
    } while (cursor !== '0-0' && this.running);
    await forgetIdleConsumers(this.redis, this.prefix, shard, live).catch(() => undefined);
  }

  private async run(): Promise<void> {
    let inFlight: Promise<void> | undefined;
    while (this.running) {
      try {
        if (this.lost.size > 0 || Date.now() - this.lastBalance >= this.options.heartbeatMs) {
          this.lastBalance = Date.now();
          await this.rebalance(inFlight);
        }
        if (this.owned.size === 0) {
          await sleep(Math.min(this.options.blockMs, this.options.heartbeatMs));
          continue;
        }
        const entries = await readShards(this.reader, this.prefix, [...this.owned], this.member, this.options.batchSize, this.options.blockMs, this.options.readPerShard);
        if (entries.length > 0) {
          // Two batches overlap: this one is verified (CPU here) while the previous one is
          // applied (Lua in Redis). Applies still run in order on the one connection.
          const prepared = await this.prepare(entries);
          await inFlight;
          inFlight = this.commit(prepared);
          inFlight.catch(() => undefined);
        }
        // A trickle of reports would cost a round of pipelines each: under load, let a small
        // batch grow for a moment (bounded latency) before reading again.
        if (entries.length > 0 && entries.length < this.options.batchSize / 20) await sleep(this.options.lingerMs);
      } catch (error) {
        await inFlight?.catch(() => undefined);
        inFlight = undefined;
        if (!this.running) break;
        // Unacknowledged entries stay pending: this member's shards are re-taken from scratch
        // (claimed again, in order) once the error passes; applying them twice changes nothing.
        this.logger.error({ err: (error as Error).message }, 'ingestion batch failed; retrying');
        for (const shard of this.owned) this.lost.add(shard);
        await sleep(500);
      }
    }
    await inFlight?.catch(() => undefined);
  }

  private count(outcome: IngestOutcome, n = 1): void {
    this.stats.outcomes[outcome] = (this.stats.outcomes[outcome] ?? 0) + n;
  }

  /** Verifies and applies one batch; acknowledges only after Redis has applied it. */
  async processBatch(entries: IntakeEntry[]): Promise<void> {
    await this.commit(await this.prepare(entries));
  }

  /** Parses and verifies a batch, and builds the pipeline that applies it (not sent yet). */
  private async prepare(entries: IntakeEntry[]): Promise<PreparedBatch> {
    const parsed: Array<{ deviceId: string; kind: string; payload: Buffer; receivedAt: number }> = [];
    for (const entry of entries) {
      const topic = parseDeviceTopic(entry.topic);
      if (!topic || topic.kind === 'directive') {
        this.count('bad_topic');
        continue;
      }
      parsed.push({ deviceId: topic.deviceId, kind: topic.kind, payload: entry.payload, receivedAt: entry.receivedAt });
    }
    const keys = await this.deviceKeys.lookup(parsed.filter((p) => p.kind === 'status').map((p) => p.deviceId));
    const presence: PresenceChange[] = [];
    const reports: StatusReportInput[] = [];
    const outcomes: Array<IngestOutcome | StatusSigned> = [];
    const online = new Set<string>();
    for (const item of parsed) {
      if (item.kind === 'presence') {
        const value = item.payload.toString();
        if (value === PRESENCE_ONLINE || value === PRESENCE_OFFLINE) {
          presence.push({ deviceId: item.deviceId, presence: value, at: formatWireTime(item.receivedAt / 1000) });
          if (value === PRESENCE_ONLINE) online.add(item.deviceId);
          else online.delete(item.deviceId);
        }
        this.count('presence');
        continue;
      }
      this.onReportRead?.(item.payload);
      const publicKey = keys.get(item.deviceId);
      if (!publicKey) {
        outcomes.push('unknown_device');
        continue;
      }
      const check = verifyStatusReport(item.payload, item.deviceId, publicKey, nodeEd25519);
      if (!check.ok) {
        outcomes.push(check.refusal);
        continue;
      }
      const r = check.report;
      reports.push({ deviceId: r.deviceId, rolloutId: r.rolloutId, counter: r.counter, seq: r.seq, state: r.state, progress: r.progress ?? 0, reason: r.reason ?? '', at: r.at, installedReleaseId: r.installed.releaseId, installedSequence: r.installed.sequence, rootVersion: r.rootVersion, epoch: r.epoch ?? DEFAULT_STATUS_EPOCH, ...(r.attributes ? { attributes: r.attributes } : {}) });
      outcomes.push(r);
    }
    return { entries, parsed, presence, reports, outcomes, online };
  }

  /** Sends the batch's pipeline, then acknowledges it: never an ack before Redis applied it. */
  private async commit({ entries, parsed, presence, reports, outcomes, online }: PreparedBatch): Promise<void> {
    // A failure throws before the ack: the batch stays pending and is claimed again (applying is idempotent).
    const [, results] = await Promise.all([
      presence.length > 0 ? recordPresence(this.redis, this.prefix, presence) : Promise.resolve(0),
      this.rollouts.applyStatusReports(reports),
    ]);
    const touched = new Set<string>();
    const tally: Record<string, number> = {};
    let applyIndex = 0;
    const rejections: Promise<string>[] = [];
    for (const outcome of outcomes) {
      if (typeof outcome === 'string') {
        tally[outcome] = (tally[outcome] ?? 0) + 1;
        continue;
      }
      const { outcome: result, wave }: StatusApplyResult = results[applyIndex++]!;
      tally[result] = (tally[result] ?? 0) + 1;
      if (result === 'expired') this.onExpired?.({ deviceId: outcome.deviceId, rolloutId: outcome.rolloutId, counter: outcome.counter });
      if (result === 'applied') {
        touched.add(outcome.rolloutId);
        this.onReportApplied?.(outcome, wave);
        if ((outcome.state === 'rejected' || outcome.state === 'failed') && outcome.reason) {
          rejections.push(this.events.emit({ type: 'device.rejected', rolloutId: outcome.rolloutId, deviceId: outcome.deviceId, state: outcome.state, reason: outcome.reason }));
        }
      }
    }
    for (const [outcome, n] of Object.entries(tally)) this.count(outcome as IngestOutcome, n);
    const ack = this.redis.pipeline();
    queueAcks(ack, this.prefix, entries);
    for (const [outcome, n] of Object.entries(tally)) ack.hincrby(ingestStatsKey(this.prefix), outcome, n);
    await ack.exec();
    await Promise.all(rejections);
    const oldest = parsed[0]?.receivedAt;
    if (oldest) this.stats.lagMs = Date.now() - oldest;
    if (touched.size > 0) this.onApplied?.(touched);
    if (online.size > 0) this.onOnline?.(online);
  }
}
