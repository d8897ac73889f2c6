// The orchestrator's event log: one capped Redis Stream that the SSE endpoint replays from
// (stream ids double as SSE ids, so Last-Event-ID resumes exactly), shared by every process.
// Given a logger, it also writes one structured log line per rollout lifecycle event: every
// emitter goes through emit(), so each event is logged once, here.
import type { Redis } from 'ioredis';
import type { Logger } from '../../runtime/logger.js';

/** Events held for replay; older ones are trimmed (approximately, as Redis does cheaply). */
export const EVENT_LOG_MAX_LENGTH = 10_000;

export type FleetEvent =
  | { type: 'rollout.created' | 'rollout.started' | 'rollout.paused' | 'rollout.resumed' | 'rollout.aborted' | 'rollout.completed'; rolloutId: string; reason?: string }
  | { type: 'wave.notifying' | 'wave.baking' | 'wave.awaiting_approval' | 'wave.approved' | 'wave.done' | 'wave.timed_out'; rolloutId: string; wave: number; count?: number }
  | { type: 'rollout.counts'; rolloutId: string; counts: Record<string, number>; reasons: Record<string, number>; waves: Array<{ index: number; status: string; counts: Record<string, number> }> }
  | { type: 'device.rejected'; rolloutId: string; deviceId: string; state: 'rejected' | 'failed'; reason: string }
  | { type: 'broker.refusals'; counts: Record<string, number> };

export interface StoredEvent {
  id: string;
  event: FleetEvent & { at: string };
}

export function eventLogKey(prefix: string): string {
  return `${prefix}events`;
}

/** Events that change a rollout's course (created … completed, wave moves): logged as well as streamed. */
function isLifecycle(event: FleetEvent): event is Extract<FleetEvent, { type: `rollout.${string}` | `wave.${string}` }> {
  return (event.type.startsWith('rollout.') && event.type !== 'rollout.counts') || event.type.startsWith('wave.');
}

/** Halts and timeouts are what an operator is paged about. */
const WARN_EVENTS = new Set<FleetEvent['type']>(['rollout.paused', 'rollout.aborted', 'wave.timed_out']);

export class EventLog {
  readonly key: string;
  constructor(private readonly redis: Redis, prefix: string, private readonly logger?: Logger) {
    this.key = eventLogKey(prefix);
  }

  async emit(event: FleetEvent, at = new Date()): Promise<string> {
    const data = JSON.stringify({ ...event, at: at.toISOString() });
    const id = (await this.redis.xadd(this.key, 'MAXLEN', '~', EVENT_LOG_MAX_LENGTH, '*', 'e', data)) as string;
    if (this.logger && isLifecycle(event)) {
      // 1-based wave numbers in the message, as the console and the CLI show them; the field stays 0-based.
      const { type, ...fields } = event;
      const wave = 'wave' in event ? ` (wave ${event.wave + 1})` : '';
      const reason = 'reason' in event && event.reason ? `: ${event.reason}` : '';
      this.logger[WARN_EVENTS.has(type) ? 'warn' : 'info']({ event: type, eventId: id, ...fields }, `${type} ${event.rolloutId}${wave}${reason}`);
    }
    return id;
  }

  /** Events after `afterId` (exclusive), oldest first. */
  async since(afterId: string, count = 500): Promise<StoredEvent[]> {
    const rows = await this.redis.xrange(this.key, `(${afterId}`, '+', 'COUNT', count);
    return rows.map(([id, fields]) => ({ id, event: JSON.parse(fields[1] ?? '{}') }));
  }

  /** Blocks up to `blockMs` for events after `afterId` ('$' = only new ones). Needs its own connection. */
  async wait(reader: Redis, afterId: string, blockMs: number, count = 500): Promise<StoredEvent[]> {
    const reply = (await reader.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, afterId)) as Array<[string, Array<[string, string[]]>]> | null;
    if (!reply) return [];
    return reply[0]![1].map(([id, fields]) => ({ id, event: JSON.parse(fields[1] ?? '{}') }));
  }

  async lastId(): Promise<string> {
    const rows = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1);
    return rows[0]?.[0] ?? '0-0';
  }
}
