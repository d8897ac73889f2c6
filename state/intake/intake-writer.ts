// Writes status and presence messages to the sharded intake streams (layout.ts) in batches: one
// MULTI/EXEC of XADDs per shard touched (all or nothing per shard: Redis refuses a whole
// transaction when it is out of memory; one slot each, so it also holds on a Redis Cluster), all
// shards in one round trip, and each message acknowledged (its PUBACK, or the broker's publish
// callback) only once its shard's transaction is durable. A refused or unanswered write is
// retried with backoff, never dropped and never acknowledged early; while it lasts the process
// is not ready (`intake_writes`), the outage is logged once and counted, and the writer resumes
// by itself once Redis accepts writes again. A failed shard's messages stay at the head of the
// queue in arrival order, so each device's reports reach its shard in the order they arrived.
// Used by the broker (the edge write, the default) and by the orchestrator's MQTT bridge.
import type { RedisClient as Redis } from '../redis.js';
import { parseDeviceTopic } from '../../protocol/index.js';
import { EpisodeLog } from '../../runtime/episode-log.js';
import type { Logger } from '../../runtime/logger.js';
import { timeLimit } from '../../runtime/time-limit.js';
import { intakeStreamKey, shardOf, type IntakeLayout } from './layout.js';

/** A message to make durable; `ack()` is called once it is (returns whether an ack went out). */
export interface IntakeMessage {
  topic: string;
  payload: Buffer | Uint8Array | string;
  ack(): boolean;
}

/** Where outages are raised and cleared (the orchestrator's readiness; absent in the broker). */
export interface IntakeReadinessSink {
  set(check: 'intake_writes', reason: string | undefined): void;
}

export interface IntakeWriterOptions {
  /** Messages written in one round trip at most. */
  maxBatch: number;
  /** After the first message of a quiet moment, wait this long for more before writing. */
  lingerMs: number;
  /** Messages taken but not yet durable; beyond this, reading from the broker pauses. */
  maxPending: number;
  /** Backoff after a failed write: first delay, doubled per failure up to retryMaxMs. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** A write unanswered this long (Redis unreachable) counts as an outage too. */
  stallMs: number;
}

/** How long close() keeps writing what is queued. */
export const DEFAULT_CLOSE_GRACE_MS = 2_000;

export const DEFAULT_INTAKE_WRITER_OPTIONS: IntakeWriterOptions = {
  maxBatch: 500,
  lingerMs: 2,
  maxPending: 5_000,
  retryInitialMs: 50,
  // Short: the intake resumes within about a second once Redis accepts writes again.
  retryMaxMs: 1_000,
  stallMs: 5_000,
};

/** Per-process counts (orchestrator/metrics/intake-metrics.ts, the broker's metrics). */
export interface IntakeWriterStats {
  /** Messages made durable in the stream. */
  written: number;
  batches: number;
  /** Messages whose PUBACK went out (a message from a connection since closed gets none: the broker resends it). */
  acked: number;
  /** Failed batch writes, by kind (oom, unreachable, error). */
  failures: Record<string, number>;
  /** Outage episodes: a run of failed or stalled writes. */
  outages: number;
}

interface Pending {
  topic: string;
  shard: number;
  payload: Buffer;
  receivedAt: number;
  message: IntakeMessage;
}

export class IntakeWriter {
  private readonly options: IntakeWriterOptions;
  private readonly queue: Pending[] = [];
  private readonly episode: EpisodeLog;
  private writing = false;
  private closing = false;
  private closed = false;
  private linger: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private roomWaiters: Array<() => void> = [];
  private retryWake: (() => void) | undefined;
  private outageStartedWith = 0;
  readonly stats: IntakeWriterStats = { written: 0, batches: 0, acked: 0, failures: {}, outages: 0 };

  constructor(
    private readonly redis: Redis,
    private readonly layout: IntakeLayout,
    private readonly logger: Logger,
    private readonly readiness?: IntakeReadinessSink,
    options: Partial<IntakeWriterOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_INTAKE_WRITER_OPTIONS, ...options };
    this.episode = new EpisodeLog(logger, 'intake write to Redis');
  }

  /** Messages taken and not yet durable. */
  get pending(): number {
    return this.queue.length;
  }

  /** True while writes fail or stall. */
  get failing(): boolean {
    return this.episode.active;
  }

  take(message: IntakeMessage): void {
    const { topic } = message;
    const payload = typeof message.payload === 'string' ? Buffer.from(message.payload) : Buffer.from(message.payload);
    // A topic that names no device still goes to a shard (0): ingestion counts it as bad_topic.
    const deviceId = parseDeviceTopic(topic)?.deviceId;
    const shard = deviceId === undefined ? 0 : shardOf(deviceId, this.layout.shards);
    this.queue.push({ topic, shard, payload, receivedAt: this.now(), message });
    if (this.closed || this.writing) return;
    if (this.queue.length >= this.options.maxBatch) this.startWriting();
    else this.linger ??= setTimeout(() => this.startWriting(), this.options.lingerMs);
  }

  /** Resolves when the writer can take more (undefined: now); the caller stops reading meanwhile. */
  room(): Promise<void> | undefined {
    if (this.queue.length < this.options.maxPending || this.closing) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Stops: writes what is queued (for at most graceMs, and not through an outage), then stops.
   * What is not written stays unacknowledged, so its sender sends it again (a device from its
   * outbox; the broker to a persistent bridge session). Call it before closing the MQTT
   * connections, so the acknowledgements still go out.
   */
  async close(graceMs = DEFAULT_CLOSE_GRACE_MS): Promise<void> {
    this.closing = true;
    if (this.queue.length > 0 && !this.writing) this.startWriting();
    if (this.loop) await timeLimit(this.loop, graceMs, () => undefined);
    this.closed = true;
    clearTimeout(this.linger);
    this.linger = undefined;
    this.retryWake?.();
    await this.loop;
    this.episode.close();
    for (const wake of this.roomWaiters.splice(0)) wake();
  }

  private startWriting(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (this.writing || this.closed) return;
    this.writing = true;
    this.loop = this.drain().finally(() => {
      this.writing = false;
      // Taken while the loop was finishing.
      if (this.queue.length > 0 && !this.closed && !this.closing) this.linger ??= setTimeout(() => this.startWriting(), this.options.lingerMs);
    });
  }

  private async drain(): Promise<void> {
    let failures = 0;
    while (this.queue.length > 0 && !this.closed) {
      // Taken off the queue only once durable: a failed shard is retried whole, in order.
      const batch = this.queue.slice(0, this.options.maxBatch);
      const refused = await this.write(batch);
      const done = refused ? batch.filter((item) => !refused.failedShards.has(item.shard)) : batch;
      const kept = refused ? batch.filter((item) => refused.failedShards.has(item.shard)) : [];
      this.queue.splice(0, batch.length, ...kept);
      this.stats.written += done.length;
      if (done.length > 0) this.stats.batches++;
      for (const item of done) if (item.message.ack()) this.stats.acked++;
      if (refused) {
        failures++;
        this.failed(refused.error, kept.length);
        if (this.queue.length < this.options.maxPending) for (const wake of this.roomWaiters.splice(0)) wake();
        if (this.closing) return;
        await this.backoff(failures);
        continue;
      }
      failures = 0;
      if (this.episode.active) this.recovered();
      if (this.queue.length < this.options.maxPending) for (const wake of this.roomWaiters.splice(0)) wake();
    }
  }

  /**
   * One MULTI/EXEC of XADDs per shard in the batch, all sent in one pipeline; resolves to the
   * shards whose transaction failed and the first error (undefined when all are durable).
   * Never throws.
   */
  private async write(batch: Pending[]): Promise<{ error: Error; failedShards: Set<number> } | undefined> {
    const byShard = new Map<number, Pending[]>();
    for (const item of batch) {
      const list = byShard.get(item.shard);
      if (list) list.push(item);
      else byShard.set(item.shard, [item]);
    }
    const shards = [...byShard.keys()];
    const pipe = this.redis.pipeline();
    for (const shard of shards) {
      const key = intakeStreamKey(this.layout.prefix, shard);
      // MULTI/EXEC queued as plain commands: pipeline.multi()/exec() would send the pipeline.
      pipe.call('MULTI');
      for (const item of byShard.get(shard)!) pipe.xadd(key, '*', 't', item.topic, 'p', item.payload, 'r', item.receivedAt);
      pipe.call('EXEC');
    }
    // Unreachable Redis: ioredis holds the commands until it reconnects; the process is not
    // ready meanwhile, but the same write goes on (a second one could add every entry twice).
    const stall = setTimeout(() => this.failed(new Error(`Redis has not answered an intake write for ${this.options.stallMs} ms`), batch.length, 'unreachable'), this.options.stallMs);
    try {
      const replies = (await pipe.exec()) ?? [];
      // Each shard's replies: MULTI's OK, one QUEUED per XADD, then EXEC's array (or EXECABORT).
      let at = 0;
      let error: Error | undefined;
      const failedShards = new Set<number>();
      for (const shard of shards) {
        const size = byShard.get(shard)!.length;
        const group = replies.slice(at, at + size + 2);
        at += size + 2;
        const exec = group[group.length - 1];
        // EXECABORT says only "previous errors": the queueing error is the reason (OOM ...).
        const queued = group.find(([err]) => err)?.[0];
        const results = exec?.[1];
        const inner = Array.isArray(results) ? (results.find((r) => r instanceof Error) as Error | undefined) : undefined;
        const shardError = queued ?? inner ?? (Array.isArray(results) ? undefined : new Error('intake transaction discarded'));
        if (shardError) {
          failedShards.add(shard);
          error ??= shardError instanceof Error ? shardError : new Error(String(shardError));
        }
      }
      return error ? { error, failedShards } : undefined;
    } catch (error) {
      return { error: error instanceof Error ? error : new Error(String(error)), failedShards: new Set(shards) };
    } finally {
      clearTimeout(stall);
    }
  }

  private failed(error: Error, batchSize: number, kind = failureKind(error)): void {
    this.stats.failures[kind] = (this.stats.failures[kind] ?? 0) + 1;
    if (!this.episode.active) {
      this.stats.outages++;
      this.outageStartedWith = this.queue.length;
    }
    this.readiness?.set('intake_writes', kind === 'oom' ? 'Redis refuses intake writes (out of memory)' : kind === 'unreachable' ? 'Redis does not answer intake writes' : 'intake writes to Redis fail');
    this.episode.failed(error, { kind, batch: batchSize, pending: this.queue.length });
  }

  private recovered(): void {
    this.readiness?.set('intake_writes', undefined);
    this.episode.recovered({ heldAtStart: this.outageStartedWith, pending: this.queue.length, written: this.stats.written });
  }

  private backoff(failures: number): Promise<void> {
    const base = Math.min(this.options.retryMaxMs, this.options.retryInitialMs * 2 ** Math.min(failures - 1, 20));
    // Jitter, so several orchestrators do not retry in step.
    const delay = base / 2 + Math.random() * (base / 2);
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.retryWake?.(), delay);
      this.retryWake = () => {
        clearTimeout(timer);
        this.retryWake = undefined;
        resolve();
      };
    });
  }
}

/** oom: Redis at maxmemory (noeviction); unreachable: connection down; error: anything else. */
function failureKind(error: Error): string {
  if (/^OOM\b/.test(error.message)) return 'oom';
  if (/ECONNREFUSED|ECONNRESET|Connection is closed|EPIPE|ETIMEDOUT/.test(error.message)) return 'unreachable';
  return 'error';
}
