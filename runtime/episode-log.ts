// Logs a failure that repeats (Redis refusing writes, a connection down, a BullMQ worker
// erroring in a loop) once per episode: one line when it starts, a reminder now and then while
// it lasts, one line with the counts when it ends. It never decides what counts as a failure.
import type { Logger } from './logger.js';

export interface EpisodeLogOptions {
  /** While an episode lasts, a reminder line with the counts at most this often. */
  reminderMs: number;
  /**
   * An episode ends after this long without a failure, for sources that never say they are fine
   * again (BullMQ worker errors). 0: only `recovered()` ends it.
   */
  quietMs: number;
}

export const DEFAULT_EPISODE_LOG_OPTIONS: EpisodeLogOptions = { reminderMs: 30_000, quietMs: 0 };

export interface EpisodeSnapshot {
  active: boolean;
  /** Epoch ms the current episode started. */
  since?: number;
  /** Failures in the current episode. */
  failures: number;
  /** Episodes started since this log was made. */
  episodes: number;
}

export class EpisodeLog {
  private readonly options: EpisodeLogOptions;
  private since: number | undefined;
  private failures = 0;
  private episodes = 0;
  private lastLine = 0;
  private lastError = '';
  private quietTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly logger: Logger,
    /** What fails, in the log lines ("intake write to Redis", "BullMQ worker notify"). */
    private readonly what: string,
    options: Partial<EpisodeLogOptions> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.options = { ...DEFAULT_EPISODE_LOG_OPTIONS, ...options };
  }

  /** Records one failure; logs only the first of an episode and, at most every reminderMs, a reminder. */
  failed(error: unknown, fields: Record<string, unknown> = {}): void {
    const message = errorMessage(error);
    const at = this.now();
    this.failures++;
    this.lastError = message;
    if (this.since === undefined) {
      this.since = at;
      this.episodes++;
      this.lastLine = at;
      this.logger.warn({ ...fields, err: message }, `${this.what} failing (logged once until it recovers)`);
    } else if (at - this.lastLine >= this.options.reminderMs) {
      this.lastLine = at;
      this.logger.warn({ ...fields, err: message, failures: this.failures, forMs: at - this.since }, `${this.what} still failing`);
    }
    if (this.options.quietMs > 0) {
      clearTimeout(this.quietTimer);
      this.quietTimer = setTimeout(() => this.recovered(), this.options.quietMs);
      this.quietTimer.unref();
    }
  }

  /** Ends the episode, if one is running, with one line carrying its counts. */
  recovered(fields: Record<string, unknown> = {}): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
    if (this.since === undefined) return;
    this.logger.info({ ...fields, failures: this.failures, forMs: this.now() - this.since, lastError: this.lastError }, `${this.what} recovered`);
    this.since = undefined;
    this.failures = 0;
  }

  get active(): boolean {
    return this.since !== undefined;
  }

  snapshot(): EpisodeSnapshot {
    return { active: this.active, ...(this.since !== undefined ? { since: this.since } : {}), failures: this.failures, episodes: this.episodes };
  }

  /** Stops the quiet timer (process shutdown). */
  close(): void {
    clearTimeout(this.quietTimer);
    this.quietTimer = undefined;
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0]!.slice(0, 300);
  return String(error).slice(0, 300);
}
