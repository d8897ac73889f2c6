// Counts every refusal (process totals, the Prometheus counter) and publishes them to the ops
// dashboard on Redis pub/sub `${prefix}events:broker`, coalesced to one message per interval:
//   one refusal in the interval:  {"type":"broker.refusal","reason":"<code>","at":"<RFC3339>","broker":"<id>"}
//   several:                      {"type":"broker.refusals","counts":{"<code>":n,...},"total":n,"at":"...","broker":"<id>"}
import { formatWireTime } from '../../protocol/index.js';
import type { RefusalReason } from '../refusals.js';
import type { BrokerMetrics } from './metrics.js';

export const REFUSAL_EVENTS_INTERVAL_MS = 200;

export interface EventPublisher {
  publish(channel: string, message: string): Promise<unknown>;
}

export interface RefusalRecorderOptions {
  metrics: BrokerMetrics;
  publisher: EventPublisher;
  channel: string;
  brokerId: string;
  /** Wall-clock milliseconds, for the event's `at`. */
  now: () => number;
  onFlush?: (counts: Record<string, number>) => void;
  intervalMs?: number;
}

export class RefusalRecorder {
  private readonly totals: Record<string, number> = {};
  private pending: Record<string, number> = {};
  private pendingTotal = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly options: RefusalRecorderOptions) {
    this.timer = setInterval(() => void this.flush(), options.intervalMs ?? REFUSAL_EVENTS_INTERVAL_MS);
    this.timer.unref();
  }

  record(reason: RefusalReason): void {
    this.totals[reason] = (this.totals[reason] ?? 0) + 1;
    this.pending[reason] = (this.pending[reason] ?? 0) + 1;
    this.pendingTotal++;
    this.options.metrics.refusals.inc({ reason });
  }

  /** Totals since start, by reason (only reasons seen). */
  snapshot(): Record<string, number> {
    return { ...this.totals };
  }

  async flush(): Promise<void> {
    if (this.pendingTotal === 0) return;
    const counts = this.pending;
    const total = this.pendingTotal;
    this.pending = {};
    this.pendingTotal = 0;
    const at = formatWireTime(this.options.now() / 1000);
    const event =
      total === 1
        ? { type: 'broker.refusal', reason: Object.keys(counts)[0], at, broker: this.options.brokerId }
        : { type: 'broker.refusals', counts, total, at, broker: this.options.brokerId };
    this.options.onFlush?.(counts);
    try {
      await this.options.publisher.publish(this.options.channel, JSON.stringify(event));
    } catch {
      // Events are best effort: the counters above are the record.
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
