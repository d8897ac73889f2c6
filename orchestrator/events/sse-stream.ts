// One SSE client's loop: replay what the event log still holds after the client's resume point
// (XRANGE), then follow it (XREAD BLOCK on the client's own connection), with heartbeats.
// It does not authenticate or count clients: sse-routes.ts does, and owns the connections.
import type { RedisClient as Redis } from '../../state/redis.js';
import type { ServerResponse } from 'node:http';
import type { EventLog, StoredEvent } from './event-log.js';
import { compareStreamIds, formatSseComment, formatSseMessage } from './sse-format.js';

export interface SseStreamOptions {
  /** A comment goes out after this long without a write (proxies drop idle connections). */
  heartbeatMs: number;
  /** Entries read per XRANGE / XREAD round. */
  batch: number;
}

/** Where a client starts: after an id it saw (resume), everything held, or only new events. */
export type StreamStart = { kind: 'resume'; afterId: string } | { kind: 'all' } | { kind: 'tail' };

/** Sent (without an id) when events between the resume point and the oldest held were trimmed. */
export interface StreamGapNotice {
  type: 'stream.gap';
  afterId: string;
}

export interface SseStreamInput {
  log: EventLog;
  /** This client's own connection: XREAD BLOCK holds it. */
  reader: Redis;
  res: ServerResponse;
  start: StreamStart;
  /** Only this rollout's events, plus events that name no rollout (broker.refusals). */
  rolloutId?: string;
  options: SseStreamOptions;
  isClosed(): boolean;
}

function write(res: ServerResponse, chunk: string): Promise<void> {
  if (res.write(chunk)) return Promise.resolve();
  // Backpressure: a slow client holds its own loop, never the process's memory.
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

/**
 * Resolves the first id to read after, and whether the client missed trimmed events: its last
 * id is older than the oldest held one and something was trimmed. (If its id was exactly the
 * last one trimmed this reports a gap that is not one: a harmless extra refetch.)
 */
async function resolveStart(input: SseStreamInput): Promise<{ cursor: string; gap: boolean }> {
  const { start, log } = input;
  if (start.kind === 'all') return { cursor: '0-0', gap: false };
  if (start.kind === 'tail') return { cursor: await log.lastId(), gap: false };
  const info = await log.trimInfo();
  if (!info) return { cursor: start.afterId, gap: false };
  // An id from the future means the stream was recreated: everything held is new to the client.
  if (compareStreamIds(start.afterId, info.lastGeneratedId) > 0) return { cursor: '0-0', gap: true };
  const gap = info.firstId !== undefined && info.dropped > 0 && compareStreamIds(start.afterId, info.firstId) < 0;
  return { cursor: start.afterId, gap };
}

/** Runs until the client goes away (resolves) or Redis fails (rejects). */
export async function pumpEvents(input: SseStreamInput): Promise<void> {
  const { log, reader, res, rolloutId, options } = input;
  let lastWrite = Date.now();
  const send = async (chunk: string) => {
    await write(res, chunk);
    lastWrite = Date.now();
  };
  const deliver = async (entries: StoredEvent[]) => {
    for (const { id, event } of entries) {
      if (input.isClosed()) return;
      const named = (event as { rolloutId?: unknown }).rolloutId;
      if (rolloutId !== undefined && named !== undefined && named !== rolloutId) continue;
      await send(formatSseMessage(event, id));
    }
  };

  const start = await resolveStart(input);
  let cursor = start.cursor;
  if (start.gap && input.start.kind === 'resume') {
    const notice: StreamGapNotice = { type: 'stream.gap', afterId: input.start.afterId };
    await send(formatSseMessage(notice));
  }
  // Replay: bounded rounds until the log is exhausted.
  for (;;) {
    if (input.isClosed()) return;
    const entries = await log.since(cursor, options.batch);
    await deliver(entries);
    if (entries.length > 0) cursor = entries[entries.length - 1]!.id;
    if (entries.length < options.batch) break;
  }
  // Follow. Filtered-out entries still move the cursor, so nothing is read twice.
  while (!input.isClosed()) {
    const entries = await log.wait(reader, cursor, options.heartbeatMs, options.batch);
    await deliver(entries);
    if (entries.length > 0) cursor = entries[entries.length - 1]!.id;
    if (!input.isClosed() && Date.now() - lastWrite >= options.heartbeatMs) await send(formatSseComment('heartbeat'));
  }
}
