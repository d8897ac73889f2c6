// A session ends when its connect token does: the broker closes a device whose token has
// passed exp (+ the 60 s skew CONNECT allows, so a session lives exactly as long as its token
// would still be accepted), counts `session_expired`, and the device's will says `offline`.
// The broker runs on the test's clock, advanced past the deadline instead of waiting a minute.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, presenceTopic, statusTopic } from '../../../protocol/index.js';
import type { RunningBroker } from '../../../broker/index.js';
import {
  REDIS_URL, closedPromise, collect, connectDevice, connectService, deleteByPrefix, endAll, provisionDevice,
  startTestBroker, testPrefix, uniqueId, waitFor, type TestDevice,
} from '../helpers.js';

const TOKEN_LIFETIME_S = 2;
/** Generous for a loaded machine: the sweep runs every second. */
const CLOSE_TIMEOUT_MS = 15_000;

let redis: Redis;
let prefix: string;
let broker: RunningBroker;
let shortLived: TestDevice;
let longLived: TestDevice;
let clockOffsetMs = 0;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('token-expiry');
  broker = await startTestBroker(prefix, {}, () => Date.now() + clockOffsetMs);
  shortLived = await provisionDevice(redis, prefix, uniqueId('short'));
  longLived = await provisionDevice(redis, prefix, uniqueId('long'));
});

afterAll(async () => {
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

describe('token expiry mid-session', () => {
  it('closes the session whose token expired, and only that one', async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(statusTopic(longLived.id), { qos: 1 });
    await orchestrator.subscribeAsync(presenceTopic(shortLived.id), { qos: 1 });
    const short = await connectDevice(broker.url, shortLived, { password: shortLived.token(nowSeconds, TOKEN_LIFETIME_S) });
    const long = await connectDevice(broker.url, longLived, { password: longLived.token(nowSeconds, 3600) });
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(shortLived.id) && m.payload === 'online'), 5_000, 'online');
    const closed = closedPromise(short);

    // The broker's clock passes exp + skew of the short token (not of the long one).
    clockOffsetMs = (TOKEN_LIFETIME_S + LIMITS.connectTokenSkewSeconds + 1) * 1000;
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error('session not closed')), CLOSE_TIMEOUT_MS))]);
    expect(broker.refusals().session_expired).toBe(1);
    // Not a clean disconnect: the will says offline.
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(shortLived.id) && m.payload === 'offline'), 5_000, 'offline');

    // The device with a valid token is still connected and publishing.
    await long.publishAsync(statusTopic(longLived.id), 'still here', { qos: 1 });
    await waitFor(() => seen.some((m) => m.topic === statusTopic(longLived.id) && m.payload === 'still here'), 5_000, 'publish');
    expect(long.connected).toBe(true);
    // MQTT.js' endAsync never settles on a client the broker already closed.
    short.end(true);
    await endAll(long, orchestrator);
  });
});
