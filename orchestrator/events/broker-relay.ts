// Relays broker refusals from Redis pub/sub (`${prefix}events:broker`, written by
// broker/observability/refusal-recorder.ts) into the event log as `broker.refusals`, summed over
// every broker node and coalesced to at most one event per interval. Pub/sub is best effort:
// the brokers' Prometheus counters are the record, this feeds the live stream only.
import { duplicateRedis, type RedisClient as Redis } from '../../state/redis.js';
import type { Logger } from '../../runtime/logger.js';
import { brokerEventsChannel } from '../../state/logs/index.js';
import type { EventLog } from './event-log.js';

export interface BrokerRelayOptions {
  /** At most one broker.refusals event per this many ms. */
  intervalMs: number;
  /** Distinct reasons kept per event; the rest fold into `other` (bounded memory and labels). */
  maxReasons: number;
}

export const DEFAULT_BROKER_RELAY_OPTIONS: BrokerRelayOptions = { intervalMs: 1_000, maxReasons: 64 };

const REASON = /^[a-z][a-z0-9_]{0,63}$/;
/** Larger than any real interval's count; a bigger number is not a count. */
const MAX_COUNT = 1_000_000_000;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= MAX_COUNT;
}

/**
 * Reads one broker message into reason counts, or undefined if it is not one. Both shapes of
 * the refusal recorder: `{type:'broker.refusal',reason}` and `{type:'broker.refusals',counts}`.
 */
export function parseBrokerRefusals(message: string, maxBytes = 16_384): Record<string, number> | undefined {
  if (message.length > maxBytes) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const m = value as { type?: unknown; reason?: unknown; counts?: unknown };
  if (m.type === 'broker.refusal') {
    return typeof m.reason === 'string' && REASON.test(m.reason) ? { [m.reason]: 1 } : undefined;
  }
  if (m.type !== 'broker.refusals' || typeof m.counts !== 'object' || m.counts === null || Array.isArray(m.counts)) return undefined;
  const counts: Record<string, number> = {};
  for (const [reason, n] of Object.entries(m.counts as Record<string, unknown>)) {
    if (REASON.test(reason) && isCount(n)) counts[reason] = n;
  }
  return Object.keys(counts).length > 0 ? counts : undefined;
}

export class BrokerRelay {
  private readonly options: BrokerRelayOptions;
  private readonly channel: string;
  private subscriber?: Redis;
  private pending: Record<string, number> = {};
  private pendingKeys = 0;
  private lastFlush = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    prefix: string,
    private readonly events: EventLog,
    private readonly logger: Logger,
    options: Partial<BrokerRelayOptions> = {},
  ) {
    this.options = { ...DEFAULT_BROKER_RELAY_OPTIONS, ...options };
    this.channel = brokerEventsChannel(prefix);
  }

  /** Subscribes on a connection of its own (a subscribed connection can do nothing else). */
  async start(): Promise<void> {
    const subscriber = duplicateRedis(this.redis);
    this.subscriber = subscriber;
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.accept(message);
    });
    await subscriber.subscribe(this.channel);
  }

  /** Adds one broker message to the pending counts and schedules a flush. */
  accept(message: string): void {
    const counts = parseBrokerRefusals(message);
    if (!counts) return;
    for (const [reason, n] of Object.entries(counts)) {
      const key = reason in this.pending || this.pendingKeys < this.options.maxReasons ? reason : 'other';
      if (!(key in this.pending)) this.pendingKeys++;
      this.pending[key] = (this.pending[key] ?? 0) + n;
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.lastFlush + this.options.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flush();
    }, wait);
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    if (this.pendingKeys === 0) return;
    const counts = this.pending;
    this.pending = {};
    this.pendingKeys = 0;
    this.lastFlush = Date.now();
    try {
      await this.events.emit({ type: 'broker.refusals', counts });
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'broker refusals not appended to the event log');
    }
  }

  /** Unsubscribes and appends what is still pending. */
  async stop(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.subscriber?.disconnect();
    this.subscriber = undefined;
    await this.flushing;
    await this.flush();
  }
}
