// Writes status and presence messages to the intake stream in batches: one MULTI/EXEC of XADDs
// per batch (all or nothing: Redis refuses the whole transaction when it is out of memory), and
// each message's PUBACK only after its batch is durable. A refused or unanswered write is
// retried with backoff, never dropped and never acknowledged early; while it lasts the process
// is not ready (`intake_writes`), the outage is logged once and counted, and the intake resumes
// by itself once Redis accepts writes again. Batches are written one at a time, in arrival
// order, so each device's reports reach the stream in the order the broker delivered them.
import type { RedisClient as Redis } from '../../state/redis.js';
import { EpisodeLog } from '../../runtime/episode-log.js';
import type { Logger } from '../../runtime/logger.js';
import { timeLimit } from '../../runtime/time-limit.js';
import type { Readiness } from '../infra/readiness.js';
import type { DeferredAckHandler, DeferredMessage } from './deferred-ack.js';

export interface IntakeWriterOptions {
  /** Messages written in one MULTI/EXEC at most. */
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

/** Per-process counts, exported by orchestrator/metrics/intake-metrics.ts. */
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
  payload: Buffer;
  receivedAt: number;
  message: DeferredMessage;
}

export class IntakeWriter implements DeferredAckHandler {
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
    private readonly streamKey: string,
    private readonly logger: Logger,
    private readonly readiness?: Readiness,
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

  take(message: DeferredMessage): void {
    const { packet } = message;
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
    this.queue.push({ topic: packet.topic, payload, receivedAt: this.now(), message });
    if (this.closed || this.writing) return;
    if (this.queue.length >= this.options.maxBatch) this.startWriting();
    else this.linger ??= setTimeout(() => this.startWriting(), this.options.lingerMs);
  }

  room(): Promise<void> | undefined {
    if (this.queue.length < this.options.maxPending || this.closing) return undefined;
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  /**
   * Stops: writes what is queued (for at most graceMs, and not through an outage), then stops.
   * What is not written stays unacknowledged, so the broker delivers it again (the persistent
   * session keeps it). Call it before closing the MQTT connections, so the PUBACKs still go out.
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
      // Taken off the queue only once durable: a failed batch is retried whole, in order.
      const batch = this.queue.slice(0, this.options.maxBatch);
      const error = await this.write(batch);
      if (error) {
        failures++;
        this.failed(error, batch.length);
        if (this.closing) return;
        await this.backoff(failures);
        continue;
      }
      failures = 0;
      this.queue.splice(0, batch.length);
      this.stats.written += batch.length;
      this.stats.batches++;
      for (const item of batch) if (item.message.ack()) this.stats.acked++;
      if (this.episode.active) this.recovered();
      if (this.queue.length < this.options.maxPending) for (const wake of this.roomWaiters.splice(0)) wake();
    }
  }

  /** One MULTI/EXEC of XADDs; resolves to the error, if any (never throws). */
  private async write(batch: Pending[]): Promise<Error | undefined> {
    const multi = this.redis.multi();
    for (const item of batch) multi.xadd(this.streamKey, '*', 't', item.topic, 'p', item.payload, 'r', item.receivedAt);
    // Unreachable Redis: ioredis holds the commands until it reconnects; the process is not
    // ready meanwhile, but the same write goes on (a second one could add every entry twice).
    const stall = setTimeout(() => this.failed(new Error(`Redis has not answered an intake write for ${this.options.stallMs} ms`), batch.length, 'unreachable'), this.options.stallMs);
    try {
      const replies = await multi.exec();
      if (!replies) return new Error('intake transaction discarded');
      const refused = replies.find(([error]) => error);
      return refused ? (refused[0] as Error) : undefined;
    } catch (error) {
      // EXECABORT says only "previous errors": the first of those is the reason (OOM ...).
      const cause = (error as { previousErrors?: Error[] }).previousErrors?.[0];
      return cause ?? (error instanceof Error ? error : new Error(String(error)));
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
