// GET /v1/events against a real Redis Stream and a real HTTP server: order, rollout filter,
// resume with Last-Event-ID, trimmed-history notice, auth by header or ?token=, the client cap,
// heartbeats and cleanup of each client's Redis connection.
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventLog, type FleetEvent } from '../../../orchestrator/events/event-log.js';
import { eventRoutes } from '../../../orchestrator/events/sse-routes.js';
import { appWithRoles, deleteByPrefix, SseClient, testPrefix, testRedis } from './helpers.js';

const prefix = testPrefix('events');
const connectionName = `sse-test-${prefix.split(':')[2]}`;
let redis: Redis;
let log: EventLog;
let app: FastifyInstance;
let base: string;
let tokens: { operator: string; read: string };

const transitions = (rolloutId: string): FleetEvent[] => [
  { type: 'rollout.created', rolloutId },
  { type: 'rollout.started', rolloutId },
  { type: 'wave.notifying', rolloutId, wave: 0, count: 3 },
  { type: 'wave.baking', rolloutId, wave: 0 },
  { type: 'rollout.counts', rolloutId, counts: { succeeded: 2, failed: 1 }, reasons: { hash_mismatch: 1 }, waves: [{ index: 0, status: 'baking', counts: { succeeded: 2, failed: 1 } }] },
  { type: 'device.rejected', rolloutId, deviceId: 'dev-1', state: 'failed', reason: 'hash_mismatch' },
  { type: 'wave.done', rolloutId, wave: 0 },
  { type: 'rollout.paused', rolloutId, reason: 'paused by operator' },
  { type: 'rollout.resumed', rolloutId },
  { type: 'rollout.completed', rolloutId },
];

const types = (client: SseClient) => client.messages.map((m) => (m.data as { type: string }).type);

async function openStreams(): Promise<number> {
  const list = (await redis.client('LIST')) as string;
  return list.split('\n').filter((line) => line.includes(`name=${connectionName} `)).length;
}

beforeAll(async () => {
  redis = testRedis(connectionName);
  log = new EventLog(redis, prefix);
  ({ app, tokens } = await appWithRoles(redis, prefix));
  await app.register(eventRoutes({ redis, prefix, options: { maxClients: 3, heartbeatMs: 300 } }), { prefix: '/v1' });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
});

afterAll(async () => {
  await app.close();
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
});

describe('GET /v1/events', () => {
  it('delivers every transition of a rollout in order, with stream ids, and only that rollout plus broker events', async () => {
    const client = await SseClient.open(`${base}/v1/events?rollout=ro-a`, { authorization: `Bearer ${tokens.read}` });
    expect(client.status).toBe(200);
    const a = transitions('ro-a');
    const b = transitions('ro-b');
    const ids: string[] = [];
    for (let i = 0; i < a.length; i++) {
      ids.push(await log.emit(a[i]!));
      await log.emit(b[i]!);
      if (i === 4) ids.push(await log.emit({ type: 'broker.refusals', counts: { token_expired: 3 } }));
    }
    await client.until((c) => c.messages.length === a.length + 1);
    const expected = [...a.slice(0, 5).map((e) => e.type), 'broker.refusals', ...a.slice(5).map((e) => e.type)];
    expect(types(client)).toEqual(expected);
    expect(client.messages.map((m) => m.id)).toEqual(ids);
    for (const m of client.messages) {
      const data = m.data as { rolloutId?: string; at: string };
      if (data.rolloutId !== undefined) expect(data.rolloutId).toBe('ro-a');
      expect(data.at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    }
    await client.close();
  });

  it('a client that reconnects with Last-Event-ID (header or query) misses nothing still held, and sees nothing twice', async () => {
    const events = transitions('ro-c');
    const first = await SseClient.open(`${base}/v1/events?rollout=ro-c`, { authorization: `Bearer ${tokens.read}` });
    const ids: string[] = [];
    for (const e of events.slice(0, 3)) ids.push(await log.emit(e));
    await first.until((c) => c.messages.length === 3);
    const lastSeen = first.messages[2]!.id!;
    await first.close();
    // Emitted while the client is away.
    for (const e of events.slice(3, 7)) ids.push(await log.emit(e));

    const resumed = await SseClient.open(`${base}/v1/events?rollout=ro-c`, { authorization: `Bearer ${tokens.read}`, 'last-event-id': lastSeen });
    await resumed.until((c) => c.messages.length === 4);
    for (const e of events.slice(7)) ids.push(await log.emit(e));
    await resumed.until((c) => c.messages.length === events.length - 3);
    expect([...first.messages, ...resumed.messages].map((m) => m.id)).toEqual(ids);
    expect([...types(first), ...types(resumed)]).toEqual(events.map((e) => e.type));
    await resumed.close();

    const byQuery = await SseClient.open(`${base}/v1/events?rollout=ro-c&lastEventId=${ids[5]}`, { authorization: `Bearer ${tokens.read}` });
    await byQuery.until((c) => c.messages.length === events.length - 6);
    expect(byQuery.messages.map((m) => m.id)).toEqual(ids.slice(6));
    await byQuery.close();
  });

  it('?from=0 replays everything held; with no resume point a client starts at the tail', async () => {
    const all = await SseClient.open(`${base}/v1/events?rollout=ro-a&from=0`, { authorization: `Bearer ${tokens.read}` });
    await all.until((c) => types(c).includes('rollout.completed'));
    expect(types(all)[0]).toBe('rollout.created');
    await all.close();

    const tail = await SseClient.open(`${base}/v1/events?rollout=ro-a`, { authorization: `Bearer ${tokens.read}` });
    const id = await log.emit({ type: 'rollout.paused', rolloutId: 'ro-a' });
    await tail.until((c) => c.messages.length === 1);
    expect(tail.messages.map((m) => m.id)).toEqual([id]);
    await tail.close();
  });

  it('tells a resuming client when events it missed were trimmed, then replays what is held', async () => {
    const trimmedPrefix = `${prefix}t:`;
    const small = new EventLog(redis, trimmedPrefix);
    const sub = await appWithRoles(redis, trimmedPrefix);
    await sub.app.register(eventRoutes({ redis, prefix: trimmedPrefix }), { prefix: '/v1' });
    const url = await sub.app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const ids: string[] = [];
      for (const e of transitions('ro-t')) ids.push(await small.emit(e));
      await redis.xtrim(small.key, 'MAXLEN', 4);
      const client = await SseClient.open(`${url}/v1/events?lastEventId=${ids[1]}`, { authorization: `Bearer ${sub.tokens.read}` });
      await client.until((c) => c.messages.length === 5);
      expect(client.messages[0]).toEqual({ data: { type: 'stream.gap', afterId: ids[1] } });
      expect(client.messages.slice(1).map((m) => m.id)).toEqual(ids.slice(-4));
      await client.close();
    } finally {
      await sub.app.close();
    }
  });

  it('accepts ?token= (EventSource sends no headers) and refuses a missing or unknown token', async () => {
    const byQuery = await SseClient.open(`${base}/v1/events?token=${encodeURIComponent(tokens.operator)}`);
    expect(byQuery.status).toBe(200);
    await byQuery.close();
    expect((await SseClient.open(`${base}/v1/events`)).status).toBe(401);
    expect((await SseClient.open(`${base}/v1/events?token=fota_not-a-token`)).status).toBe(401);
    const bad = await fetch(`${base}/v1/events?rollout=${'x'.repeat(65)}`, { headers: { authorization: `Bearer ${tokens.read}` } });
    expect(bad.status).toBe(400);
    await bad.body?.cancel();
  });

  it('sends heartbeat comments while idle, caps concurrent clients (503) and frees each client\'s Redis connection when it leaves', async () => {
    const clients = await Promise.all([0, 1, 2].map(() => SseClient.open(`${base}/v1/events`, { authorization: `Bearer ${tokens.read}` })));
    expect(clients.map((c) => c.status)).toEqual([200, 200, 200]);
    await clients[0]!.until((c) => c.comments.includes('heartbeat'), 2_000);
    const refused = await fetch(`${base}/v1/events`, { headers: { authorization: `Bearer ${tokens.read}` } });
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { code: string }).code).toBe('too_many_streams');
    // Our own connection plus one per stream.
    expect(await openStreams()).toBe(4);
    await Promise.all(clients.map((c) => c.close()));
    for (let i = 0; i < 50 && (await openStreams()) > 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await openStreams()).toBe(1);
    const again = await SseClient.open(`${base}/v1/events`, { authorization: `Bearer ${tokens.read}` });
    expect(again.status).toBe(200);
    await again.close();
  });

  it('ends open streams when the app closes, so close() does not hang', async () => {
    const sub = await appWithRoles(redis, prefix);
    await sub.app.register(eventRoutes({ redis, prefix }), { prefix: '/v1' });
    const url = await sub.app.listen({ host: '127.0.0.1', port: 0 });
    const client = await SseClient.open(`${url}/v1/events`, { authorization: `Bearer ${sub.tokens.read}` });
    expect(client.status).toBe(200);
    const started = Date.now();
    await sub.app.close();
    await client.until((c) => c.ended, 2_000).catch(() => undefined);
    expect(client.ended).toBe(true);
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
