// Per-client-id limits over real MQTT: the publish allowance belongs to the client id and
// survives reconnects (a flooder that reconnects each time it is cut off gets no fresh burst),
// and a reconnect storm from one client id is refused `reconnect_rate` (CONNACK 3). Bounds are
// computed from the measured elapsed time, so a slow machine only loosens them.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildConnectToken, statusTopic } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import type { RunningBroker } from '../../../broker/index.js';
import {
  REDIS_URL, closedPromise, collect, connectService, deleteByPrefix, endAll, provisionDevice, sleep,
  startTestBroker, testPrefix, tryConnect, uniqueId, type TestDevice,
} from '../helpers.js';

const PUBLISH_RATE = 2;
const RECONNECTS_PER_MIN = 5;
const FLOOD_CONNECTIONS = 10;
const FLOOD_MESSAGES = 30;
/** Longest a flooding connection is given before the test moves on (the broker usually cuts it sooner). */
const CONNECTION_HOLD_MS = 1_500;
const SERVER_UNAVAILABLE = 3;

let redis: Redis;
let prefix: string;
let floodBroker: RunningBroker;
let stormBroker: RunningBroker;
let flooder: TestDevice;
let flapper: TestDevice;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('client-limits');
  // Reconnects unlimited here: this broker tests the publish allowance alone.
  floodBroker = await startTestBroker(prefix, { limits: { publishesPerClientPerSec: PUBLISH_RATE, publishThrottleMaxDelayMs: 300, reconnectsPerClientPerMin: 0 } });
  stormBroker = await startTestBroker(prefix, { limits: { reconnectsPerClientPerMin: RECONNECTS_PER_MIN } });
  flooder = await provisionDevice(redis, prefix, uniqueId('flooder'));
  flapper = await provisionDevice(redis, prefix, uniqueId('flapper'));
});

afterAll(async () => {
  await floodBroker?.close();
  await stormBroker?.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

describe('per-client-id publish allowance', () => {
  it('a flooding device that reconnects each time it is cut off stays within one allowance', async () => {
    const orchestrator = await connectService(floodBroker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(statusTopic(flooder.id), { qos: 0 });
    const started = performance.now();
    let connections = 0;
    for (let i = 0; i < FLOOD_CONNECTIONS; i++) {
      const result = await tryConnect(floodBroker.url, { clientId: flooder.id, username: flooder.id, password: flooder.token() });
      if (!result.ok) continue;
      connections++;
      const closed = closedPromise(result.client);
      for (let m = 0; m < FLOOD_MESSAGES; m++) result.client.publish(statusTopic(flooder.id), `c${i}-m${m}`, { qos: 0 });
      await Promise.race([closed, sleep(CONNECTION_HOLD_MS)]);
      // Forced: a flooder does not wait for its queue (MQTT.js' endAsync may never settle then).
      result.client.end(true);
      await Promise.race([closed, sleep(CONNECTION_HOLD_MS)]);
    }
    // Let deliveries already authorized arrive; the bound below counts this time too.
    await sleep(300);
    const elapsedSeconds = (performance.now() - started) / 1000;
    const received = seen.length;
    // One bucket: its burst plus what refills while the test ran (+1 for rounding).
    const allowance = PUBLISH_RATE + Math.ceil(PUBLISH_RATE * elapsedSeconds) + 1;
    expect(connections).toBeGreaterThanOrEqual(FLOOD_CONNECTIONS / 2);
    expect({ received, withinAllowance: received <= allowance }).toEqual({ received, withinAllowance: true });
    expect(floodBroker.refusals().publish_flood ?? 0).toBeGreaterThanOrEqual(1);
    await endAll(orchestrator);
  });
});

describe('per-client-id reconnect limit', () => {
  it('refuses a reconnect storm from one client id with reconnect_rate (CONNACK 3)', async () => {
    const started = performance.now();
    let accepted = 0;
    let refused = 0;
    const codes = new Set<number | undefined>();
    for (let i = 0; i < RECONNECTS_PER_MIN * 3; i++) {
      const result = await tryConnect(stormBroker.url, { clientId: flapper.id, username: flapper.id, password: flapper.token() });
      if (result.ok) {
        accepted++;
        await result.client.endAsync();
      } else {
        refused++;
        codes.add(result.code);
      }
    }
    const elapsedMinutes = (performance.now() - started) / 60_000;
    expect(accepted).toBeLessThanOrEqual(RECONNECTS_PER_MIN + Math.ceil(RECONNECTS_PER_MIN * elapsedMinutes) + 1);
    expect(refused).toBeGreaterThanOrEqual(1);
    expect([...codes]).toEqual([SERVER_UNAVAILABLE]);
    expect(stormBroker.refusals().reconnect_rate).toBe(refused);
  });

  it('does not let a stranger without the key use up a device\'s reconnects', async () => {
    const victim = await provisionDevice(redis, prefix, uniqueId('victim'));
    const stranger = generateSigningKey();
    for (let i = 0; i < RECONNECTS_PER_MIN * 2; i++) {
      // The victim's id, signed by another key: refused at the signature, before the allowance.
      const forged = buildConnectToken(victim.id, stranger.secretKey, Math.floor(Date.now() / 1000), 600, nodeEd25519);
      const result = await tryConnect(stormBroker.url, { clientId: victim.id, username: victim.id, password: forged });
      expect(result.ok ? 0 : result.code).toBe(4);
    }
    const result = await tryConnect(stormBroker.url, { clientId: victim.id, username: victim.id, password: victim.token() });
    expect(result.ok).toBe(true);
    if (result.ok) await endAll(result.client);
  });
});
