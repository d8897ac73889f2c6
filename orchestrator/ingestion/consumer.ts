// Status ingestion: reads the intake stream in batches (a consumer group, so several
// orchestrators share the work), verifies each report with the device's registered key,
// applies it with one Lua call each in one pipeline, then acknowledges and deletes the batch.
// Entries of a consumer that died are claimed after a while and applied (idempotently).
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient as Redis } from '../../state/redis.js';
import { randomBytes } from 'node:crypto';
import { DEFAULT_STATUS_EPOCH, formatWireTime, parseDeviceTopic, verifyStatusReport, PRESENCE_OFFLINE, PRESENCE_ONLINE, type StatusSigned } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import type { EventLog } from '../events/event-log.js';
import type { Logger } from '../../runtime/logger.js';
import { registryKeys } from '../../state/device-record.js';
import { RolloutState } from '../../state/rollouts/rollout-state.js';
import type { StatusApplyResult, StatusReportInput } from '../../state/rollouts/status-apply.js';
import { DeviceKeyCache } from './device-keys.js';
import { ingestStreamKey } from './intake.js';

export const INGEST_GROUP = 'ingest';

export interface IngestOptions {
  batchSize: number;
  blockMs: number;
  /** Pending entries idle this long belong to a dead consumer and are claimed. */
  claimIdleMs: number;
  /** After a small batch, wait this long so the next one is worth a round of pipelines. */
  lingerMs: number;
}

export const DEFAULT_INGEST_OPTIONS: IngestOptions = { batchSize: 1_000, blockMs: 200, claimIdleMs: 30_000, lingerMs: 15 };

/** Outcomes counted per report: `applied`, or why it changed nothing. */
export type IngestOutcome =
  | 'applied' | 'stale' | 'stale_epoch' | 'unknown_rollout' | 'other_directive' | 'after_terminal' | 'backwards' | 'expired'
  | 'too_large' | 'bad_schema' | 'wrong_topic' | 'bad_signature' | 'unknown_device' | 'bad_topic' | 'presence';

export interface IngestStats {
  outcomes: Partial<Record<IngestOutcome, number>>;
  /** Milliseconds from intake to applied, for the last batch's oldest entry. */
  lagMs: number;
}

export function ingestStatsKey(prefix: string): string {
  return `${prefix}ingest:outcomes`;
}

type Entry = [id: string, fields: Buffer[]];

interface PreparedBatch {
  ids: string[];
  parsed: Array<{ deviceId: string; kind: string; payload: Buffer; receivedAt: number }>;
  /** Presence writes of the batch (registry fields), sent beside the status apply. */
  presence: ReturnType<Redis['pipeline']>;
  presenceWrites: number;
  /** Verified reports, in stream order, for the state layer's status apply. */
  reports: StatusReportInput[];
  outcomes: Array<IngestOutcome | StatusSigned>;
  /** Devices whose last presence in the batch is `online`. */
  online: Set<string>;
}

export class StatusConsumer {
  private readonly key: string;
  private readonly consumer = `c-${randomBytes(5).toString('hex')}`;
  private readonly rollouts: RolloutState;
  private readonly deviceKeys: DeviceKeyCache;
  private readonly options: IngestOptions;
  private running = false;
  private loop?: Promise<void>;
  readonly stats: IngestStats = { outcomes: {}, lagMs: 0 };
  /** Called after each applied batch with the rollouts it touched. */
  onApplied?: (rolloutIds: Set<string>) => void;
  /** Devices whose presence `online` the batch applied (the reconciler checks their directive). */
  onOnline?: (deviceIds: Set<string>) => void;
  /** A device reported its current directive expired (`rejected: directive_expired`): it needs a fresh one. */
  onExpired?: (report: { deviceId: string; rolloutId: string; counter: number }) => void;
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
    this.key = ingestStreamKey(prefix);
    this.rollouts = new RolloutState(redis, prefix);
    // Key lookups ride the reader connection, so they never queue behind an apply in flight.
    this.deviceKeys = new DeviceKeyCache(reader, prefix);
    this.options = { ...DEFAULT_INGEST_OPTIONS, ...options };
  }

  async start(): Promise<void> {
    try {
      await this.redis.xgroup('CREATE', this.key, INGEST_GROUP, '0', 'MKSTREAM');
    } catch (error) {
      if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
    }
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  private async run(): Promise<void> {
    let lastClaim = 0;
    let inFlight: Promise<void> | undefined;
    while (this.running) {
      try {
        if (Date.now() - lastClaim > this.options.claimIdleMs / 2) {
          lastClaim = Date.now();
          await this.claimAbandoned();
        }
        const reply = (await this.reader.xreadgroupBuffer(
          'GROUP', INGEST_GROUP, this.consumer, 'COUNT', this.options.batchSize, 'BLOCK', this.options.blockMs, 'STREAMS', this.key, '>',
        )) as Array<[Buffer, Entry[]]> | null;
        const entries = reply?.[0]?.[1] ?? [];
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
        inFlight = undefined;
        if (!this.running) break;
        // Unacknowledged entries stay pending and are claimed again (claimAbandoned).
        this.logger.error({ err: (error as Error).message }, 'ingestion batch failed; retrying');
        await sleep(500);
      }
    }
    await inFlight?.catch(() => undefined);
  }

  private async claimAbandoned(): Promise<void> {
    let cursor = '0-0';
    for (let round = 0; round < 100; round++) {
      const [next, entries] = (await this.redis.callBuffer('XAUTOCLAIM', this.key, INGEST_GROUP, this.consumer, this.options.claimIdleMs, cursor, 'COUNT', this.options.batchSize)) as unknown as [Buffer, Entry[]];
      const live = entries.filter((e) => e && e[1]);
      if (live.length > 0) await this.processBatch(live);
      cursor = next.toString();
      if (cursor === '0-0') return;
    }
  }

  private count(outcome: IngestOutcome, n = 1): void {
    this.stats.outcomes[outcome] = (this.stats.outcomes[outcome] ?? 0) + n;
  }

  /** Verifies and applies one batch; acknowledges only after Redis has applied it. */
  async processBatch(entries: Entry[]): Promise<void> {
    await this.commit(await this.prepare(entries));
  }

  /** Parses and verifies a batch, and builds the pipeline that applies it (not sent yet). */
  private async prepare(entries: Entry[]): Promise<PreparedBatch> {
    const ids: string[] = [];
    const parsed: Array<{ deviceId: string; kind: string; payload: Buffer; receivedAt: number }> = [];
    for (const [rawId, fields] of entries) {
      ids.push(rawId.toString());
      const map = new Map<string, Buffer>();
      for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i]!.toString(), fields[i + 1]!);
      const topic = parseDeviceTopic(map.get('t')?.toString() ?? '');
      if (!topic || topic.kind === 'directive') {
        this.count('bad_topic');
        continue;
      }
      parsed.push({ deviceId: topic.deviceId, kind: topic.kind, payload: map.get('p') ?? Buffer.alloc(0), receivedAt: Number(map.get('r')?.toString() ?? Date.now()) });
    }
    const keys = await this.deviceKeys.lookup(parsed.filter((p) => p.kind === 'status').map((p) => p.deviceId));
    const registry = registryKeys(this.prefix);
    const presence = this.redis.pipeline();
    let presenceWrites = 0;
    const reports: StatusReportInput[] = [];
    const outcomes: Array<IngestOutcome | StatusSigned> = [];
    const online = new Set<string>();
    for (const item of parsed) {
      if (item.kind === 'presence') {
        const value = item.payload.toString();
        if (value === PRESENCE_ONLINE || value === PRESENCE_OFFLINE) {
          presence.hset(registry.device(item.deviceId), 'presence', value, 'presenceAt', formatWireTime(item.receivedAt / 1000));
          presenceWrites++;
          if (value === PRESENCE_ONLINE) online.add(item.deviceId);
          else online.delete(item.deviceId);
        }
        this.count('presence');
        continue;
      }
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
      reports.push({ deviceId: r.deviceId, rolloutId: r.rolloutId, counter: r.counter, seq: r.seq, state: r.state, progress: r.progress ?? 0, reason: r.reason ?? '', at: r.at, installedReleaseId: r.installed.releaseId, installedSequence: r.installed.sequence, rootVersion: r.rootVersion, epoch: r.epoch ?? DEFAULT_STATUS_EPOCH });
      outcomes.push(r);
    }
    return { ids, parsed, presence, presenceWrites, reports, outcomes, online };
  }

  /** Sends the batch's pipeline, then acknowledges it: never an ack before Redis applied it. */
  private async commit({ ids, parsed, presence, presenceWrites, reports, outcomes, online }: PreparedBatch): Promise<void> {
    // A failure throws before the ack: the batch stays pending and is claimed again (applying is idempotent).
    const [presenceReplies, results] = await Promise.all([
      presenceWrites > 0 ? presence.exec() : Promise.resolve([]),
      this.rollouts.applyStatusReports(reports),
    ]);
    const failed = (presenceReplies ?? []).find(([error]) => error);
    if (failed) throw failed[0];
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
    ack.xack(this.key, INGEST_GROUP, ...ids);
    ack.xdel(this.key, ...ids);
    for (const [outcome, n] of Object.entries(tally)) ack.hincrby(ingestStatsKey(this.prefix), outcome, n);
    await ack.exec();
    await Promise.all(rejections);
    const oldest = parsed[0]?.receivedAt;
    if (oldest) this.stats.lagMs = Date.now() - oldest;
    if (touched.size > 0) this.onApplied?.(touched);
    if (online.size > 0) this.onOnline?.(online);
  }
}
