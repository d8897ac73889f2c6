// GET /v1/events: the live event stream (Server-Sent Events) over the EventLog's Redis Stream,
// filterable by rollout, resumable with Last-Event-ID. Registered under /v1 by the app; it
// authenticates through the app's `requireRole('read')` and does not format events itself.
//
// Auth: the usual `Authorization: Bearer <token>`, or `?token=<token>` on this route only,
// because a browser's EventSource cannot send headers. A query token is copied into the
// Authorization header before requireRole runs; the app's request logger must redact it
// (runtime/logger.ts: redactQueryToken).
import type { FastifyInstance, FastifyPluginAsync, onRequestHookHandler } from 'fastify';
import { duplicateRedis, type RedisClient as Redis } from '../../state/redis.js';
import type { ServerResponse } from 'node:http';
import { MAX_TOKEN_CHARS } from '../auth/tokens.js';
import { EventLog } from './event-log.js';
import { formatSseRetry, isStreamId, STREAM_ID } from './sse-format.js';
import { pumpEvents, type StreamStart } from './sse-stream.js';

export interface EventRoutesOptions {
  /** Concurrent SSE clients per process; each holds one Redis connection. Beyond: 503. */
  maxClients: number;
  heartbeatMs: number;
  /** Entries per XRANGE / XREAD round. */
  batch: number;
  /** Reconnect delay suggested to browsers. */
  retryMs: number;
}

export const DEFAULT_EVENT_ROUTES_OPTIONS: EventRoutesOptions = { maxClients: 100, heartbeatMs: 15_000, batch: 500, retryMs: 3_000 };

export interface EventRoutesDeps {
  redis: Redis;
  prefix: string;
  options?: Partial<EventRoutesOptions>;
}

type WithRoles = FastifyInstance & { requireRole(role: 'operator' | 'read'): onRequestHookHandler };

interface EventsQuery {
  rollout?: string;
  lastEventId?: string;
  from?: '0';
  token?: string;
}

const querystring = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rollout: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
    lastEventId: { type: 'string', pattern: STREAM_ID.source },
    from: { type: 'string', enum: ['0'] },
    token: { type: 'string', minLength: 1, maxLength: MAX_TOKEN_CHARS },
  },
} as const;

function startOf(query: EventsQuery, header: string | string[] | undefined): StreamStart {
  // The header wins: EventSource sends it on every automatic reconnect with the last id seen.
  const resume = typeof header === 'string' && isStreamId(header.trim()) ? header.trim() : query.lastEventId;
  if (resume !== undefined) return { kind: 'resume', afterId: resume };
  return query.from === '0' ? { kind: 'all' } : { kind: 'tail' };
}

export function eventRoutes(deps: EventRoutesDeps): FastifyPluginAsync {
  const options = { ...DEFAULT_EVENT_ROUTES_OPTIONS, ...deps.options };
  return async (instance) => {
    const app = instance as WithRoles;
    const log = new EventLog(deps.redis, deps.prefix);
    const open = new Set<{ res: ServerResponse; reader: Redis }>();

    // Hijacked responses keep the server's close() waiting: end them first.
    app.addHook('preClose', async () => {
      for (const client of open) {
        client.res.end();
        client.reader.disconnect();
      }
    });

    app.get<{ Querystring: EventsQuery }>('/events', {
      onRequest: [
        async (request) => {
          // EventSource cannot set headers: accept ?token= here only, never over a real header.
          const token = (request.query as { token?: unknown }).token;
          if (request.headers.authorization === undefined && typeof token === 'string' && token.length > 0 && token.length <= MAX_TOKEN_CHARS) {
            request.headers.authorization = `Bearer ${token}`;
          }
        },
        app.requireRole('read'),
      ],
      schema: {
        operationId: 'streamEvents',
        tags: ['events'],
        summary: 'Live event stream (text/event-stream); resumes after Last-Event-ID',
        description: 'Each message: `id:` (the Redis Stream id, for Last-Event-ID), `data:` one JSON event { type, at, rolloutId?, ... }. The token may be given as ?token= because EventSource cannot send headers.',
        querystring,
        response: {
          200: { description: 'An endless Server-Sent Events stream', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          // Inline (not ApiError#): this plugin also runs in apps without the shared schemas.
          503: { description: 'Too many streams open (retry-after)', content: { 'application/json': { schema: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } } } },
        },
      },
    }, async (request, reply) => {
      if (open.size >= options.maxClients) {
        return reply.code(503).header('retry-after', '10').send({ code: 'too_many_streams', message: `at most ${options.maxClients} event streams at once` });
      }
      const start = startOf(request.query, request.headers['last-event-id']);
      const reader = duplicateRedis(deps.redis);
      const res = reply.raw;
      const client = { res, reader };
      open.add(client);
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        open.delete(client);
        // Aborts a pending XREAD BLOCK: the loop sees isClosed() and returns.
        reader.disconnect();
      };
      res.on('close', close);
      reply.hijack();
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-store',
        connection: 'keep-alive',
        // nginx buffers responses unless told not to.
        'x-accel-buffering': 'no',
      });
      res.write(formatSseRetry(options.retryMs));
      try {
        await pumpEvents({
          log,
          reader,
          res,
          start,
          ...(request.query.rollout !== undefined ? { rolloutId: request.query.rollout } : {}),
          options: { heartbeatMs: options.heartbeatMs, batch: options.batch },
          isClosed: () => closed,
        });
      } catch (error) {
        if (!closed) request.log.warn({ err: (error as Error).message }, 'event stream ended by an error; the client will reconnect');
      } finally {
        close();
        if (!res.writableEnded) res.end();
      }
    });
  };
}
