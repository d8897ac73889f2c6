// The orchestrator's event log: one capped Redis Stream that the SSE endpoint replays from
// (stream ids double as SSE ids, so Last-Event-ID resumes exactly), shared by every process.
// Given a logger, it also writes one structured log line per rollout lifecycle event: every
// emitter goes through emit(), so each event is logged once, here.
import type { RedisClient as Redis } from '../../state/redis.js';
import type { Logger } from '../../runtime/logger.js';
import { eventLogKey, JsonStream, type StreamEntry, type StreamTrimInfo } from '../../state/logs/index.js';

/** Events held for replay; older ones are trimmed (approximately, as Redis does cheaply). */
export const EVENT_LOG_MAX_LENGTH = 10_000;

export type FleetEvent =
  | { type: 'rollout.created' | 'rollout.scheduled' | 'rollout.started' | 'rollout.paused' | 'rollout.resumed' | 'rollout.ended' | 'rollout.aborted' | 'rollout.completed'; rolloutId: string; reason?: string }
  | { type: 'wave.notifying' | 'wave.baking' | 'wave.awaiting_approval' | 'wave.approved' | 'wave.done' | 'wave.timed_out' | 'wave.joined'; rolloutId: string; wave: number; count?: number }
  | { type: 'rollout.counts'; rolloutId: string; counts: Record<string, number>; reasons: Record<string, number>; waves: Array<{ index: number; status: string; counts: Record<string, number> }> }
  | { type: 'device.rejected'; rolloutId: string; deviceId: string; state: 'rejected' | 'failed'; reason: string }
  | { type: 'broker.refusals'; counts: Record<string, number> };

export interface StoredEvent {
  id: string;
  event: FleetEvent & { at: string };
}

/** Events that change a rollout's course (created … completed, wave moves): logged as well as streamed. */
function isLifecycle(event: FleetEvent): event is Extract<FleetEvent, { type: `rollout.${string}` | `wave.${string}` }> {
  return (event.type.startsWith('rollout.') && event.type !== 'rollout.counts') || event.type.startsWith('wave.');
}

/** Halts and timeouts are what an operator is paged about. */
const WARN_EVENTS = new Set<FleetEvent['type']>(['rollout.paused', 'rollout.aborted', 'wave.timed_out']);

const toEvents = (entries: StreamEntry[]): StoredEvent[] => entries.map(({ id, data }) => ({ id, event: JSON.parse(data || '{}') }));

export class EventLog {
  private readonly stream: JsonStream;
  constructor(redis: Redis, prefix: string, private readonly logger?: Logger) {
    this.stream = new JsonStream(redis, eventLogKey(prefix), EVENT_LOG_MAX_LENGTH);
  }

  /** The stream's key (tests read its length). */
  get key(): string {
    return this.stream.key;
  }

  async emit(event: FleetEvent, at = new Date()): Promise<string> {
    const data = JSON.stringify({ ...event, at: at.toISOString() });
    const id = await this.stream.append(data);
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
    return toEvents(await this.stream.after(afterId, count));
  }

  /** Blocks up to `blockMs` for events after `afterId` ('$' = only new ones). Needs its own connection. */
  async wait(reader: Redis, afterId: string, blockMs: number, count = 500): Promise<StoredEvent[]> {
    return toEvents(await this.stream.wait(reader, afterId, blockMs, count));
  }

  lastId(): Promise<string> {
    return this.stream.lastId();
  }

  /** Whether (and how much) the stream was trimmed: SSE resumes detect gaps with it. */
  trimInfo(): Promise<StreamTrimInfo | undefined> {
    return this.stream.trimInfo();
  }
}
