// The broker relay over real Redis pub/sub: both message shapes of the broker's refusal recorder
// become `broker.refusals` events in the log, summed and coalesced to one per interval; messages
// that are not refusals change nothing.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BrokerRelay, parseBrokerRefusals } from '../../../orchestrator/events/broker-relay.js';
import { brokerEventsChannel } from '../../../state/logs/index.js';
import { EventLog } from '../../../orchestrator/events/event-log.js';
import { silentLogger } from '../../../runtime/logger.js';
import { deleteByPrefix, testPrefix, testRedis } from './helpers.js';

const prefix = testPrefix('relay');
let redis: Redis;

beforeAll(() => {
  redis = testRedis();
});

afterAll(async () => {
  await deleteByPrefix(redis, prefix);
  redis.disconnect();
});

describe('parseBrokerRefusals', () => {
  it('reads both shapes and drops anything else', () => {
    expect(parseBrokerRefusals('{"type":"broker.refusal","reason":"token_expired","at":"2026-01-01T00:00:00Z","broker":"b1"}')).toEqual({ token_expired: 1 });
    expect(parseBrokerRefusals('{"type":"broker.refusals","counts":{"publish_denied":4,"connect_rate":2},"total":6}')).toEqual({ publish_denied: 4, connect_rate: 2 });
    for (const bad of [
      'not json',
      '[]',
      'null',
      '{"type":"broker.refusal","reason":"Bad Reason"}',
      '{"type":"broker.refusals","counts":{"publish_denied":-1}}',
      '{"type":"broker.refusals","counts":{"publish_denied":1.5}}',
      '{"type":"broker.refusals","counts":[1]}',
      '{"type":"other","counts":{"publish_denied":1}}',
      JSON.stringify({ type: 'broker.refusal', reason: 'x'.repeat(20_000) }),
    ]) expect(parseBrokerRefusals(bad)).toBeUndefined();
  });
});

describe('BrokerRelay', () => {
  it('appends summed refusals at most once per interval', async () => {
    const log = new EventLog(redis, prefix);
    const relay = new BrokerRelay(redis, prefix, log, silentLogger(), { intervalMs: 400 });
    await relay.start();
    const channel = brokerEventsChannel(prefix);
    try {
      const waitForEvents = async (n: number) => {
        for (let i = 0; i < 80 && (await redis.xlen(log.key)) < n; i++) await new Promise((r) => setTimeout(r, 25));
      };
      // After a quiet spell the first refusal goes out at once (leading edge)...
      await redis.publish(channel, JSON.stringify({ type: 'broker.refusal', reason: 'connect_rate', broker: 'b1' }));
      await waitForEvents(1);
      // ...and what follows within the interval, from two broker nodes, is summed into one event.
      await redis.publish(channel, JSON.stringify({ type: 'broker.refusal', reason: 'token_expired', broker: 'b1' }));
      await redis.publish(channel, JSON.stringify({ type: 'broker.refusals', counts: { token_expired: 2, publish_denied: 5 }, total: 7, broker: 'b2' }));
      await redis.publish(channel, 'garbage');
      await waitForEvents(2);
      await new Promise((r) => setTimeout(r, 100));
      const events = await log.since('0-0');
      expect(events.map((e) => e.event)).toEqual([
        expect.objectContaining({ type: 'broker.refusals', counts: { connect_rate: 1 } }),
        expect.objectContaining({ type: 'broker.refusals', counts: { token_expired: 3, publish_denied: 5 } }),
      ]);
      const idGap = Number(events[1]!.id.split('-')[0]) - Number(events[0]!.id.split('-')[0]);
      // Flushes are intervalMs apart on the relay's clock; the stream ids add Redis round-trip jitter.
      expect(idGap).toBeGreaterThanOrEqual(320);
    } finally {
      await relay.stop();
    }
  });
});
