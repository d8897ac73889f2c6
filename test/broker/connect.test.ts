// CONNECT over real MQTT: devices with every kind of bad credential get the right CONNACK code,
// service accounts authenticate, a taken client id survives a hostile connect (aedes #16/#337),
// and revocation closes a live device within a second.
import { connect as connectTcp } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directiveTopic, parseWireTime, presenceTopic, statusTopic } from '../../protocol/index.js';
import { registryKeys } from '../../state/device-record.js';
import { generateSigningKey } from '../../orchestrator/keys/key-file.js';
import type { RunningBroker } from '../../broker/index.js';
import { loadConformance } from '../support/conformance.js';
import {
  REDIS_URL, ORCHESTRATOR_SECRET, closedPromise, collect, connectDevice, connectService, customToken, deleteByPrefix, endAll,
  provisionDevice, rawConnect, rawPublish, sleep, startTestBroker, testPrefix, tryConnect, uniqueId, waitFor, type TestDevice,
} from './helpers.js';

const CONNACK = { identifierRejected: 2, serverUnavailable: 3, badCredentials: 4, notAuthorized: 5 };

let redis: Redis;
let prefix: string;
let broker: RunningBroker;
let alice: TestDevice;
let bob: TestDevice;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('connect');
  broker = await startTestBroker(prefix);
  alice = await provisionDevice(redis, prefix, uniqueId('alice'));
  bob = await provisionDevice(redis, prefix, uniqueId('bob'));
});

afterAll(async () => {
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

const asDevice = (device: TestDevice, password: string) => ({ clientId: device.id, username: device.id, password });

describe('device connect', () => {
  it('accepts a valid token and announces presence online (retained)', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(presenceTopic(alice.id), { qos: 1 });
    const device = await connectDevice(broker.url, alice);
    await waitFor(() => seen.some((m) => m.topic === presenceTopic(alice.id) && m.payload === 'online'), 5000, 'online');
    await endAll(device, orchestrator);
  });

  it('refuses a bad signature, an expired token, a wrong aud, with CONNACK 4', async () => {
    const now = Math.floor(Date.now() / 1000);
    const stranger = generateSigningKey();
    const claims = { sub: alice.id, aud: 'fleet-ota', iat: now, exp: now + 600 };
    const header = { alg: 'EdDSA', typ: 'JWT' };
    const cases: [string, string][] = [
      ['bad signature', customToken(header, claims, stranger.secretKey)],
      ['expired', alice.token(now - 7200, 3600)],
      ['wrong aud', customToken(header, { ...claims, aud: 'other' }, alice.key.secretKey)],
      ['alg none', `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`],
      ['lifetime over 24 h', alice.token(now, 2 * 86_400)],
    ];
    for (const [name, token] of cases) {
      const result = await tryConnect(broker.url, asDevice(alice, token));
      expect(result.ok, name).toBe(false);
      expect(result.ok ? 0 : result.code, name).toBe(CONNACK.badCredentials);
    }
    const refusals = broker.refusals();
    expect(refusals.token_signature).toBeGreaterThanOrEqual(1);
    expect(refusals.token_expired).toBeGreaterThanOrEqual(1);
    expect(refusals.token_audience).toBeGreaterThanOrEqual(1);
    expect(refusals.token_alg).toBeGreaterThanOrEqual(1);
    expect(refusals.token_lifetime).toBeGreaterThanOrEqual(1);
  });

  it('refuses a token for another device (CONNACK 4) and clientId != username (CONNACK 2)', async () => {
    const other = await tryConnect(broker.url, asDevice(alice, bob.token()));
    expect(other).toMatchObject({ ok: false, code: CONNACK.badCredentials });
    const mismatch = await tryConnect(broker.url, { clientId: alice.id, username: bob.id, password: bob.token() });
    expect(mismatch).toMatchObject({ ok: false, code: CONNACK.identifierRejected });
    const noUser = await tryConnect(broker.url, { clientId: alice.id, username: alice.id });
    expect(noUser).toMatchObject({ ok: false, code: CONNACK.badCredentials });
    expect(broker.refusals().client_id_mismatch).toBeGreaterThanOrEqual(1);
  });

  it('refuses an unknown device (CONNACK 4) and a revoked one (CONNACK 5)', async () => {
    const ghostKey = generateSigningKey();
    const ghost: TestDevice = { id: uniqueId('ghost'), key: ghostKey, token: () => '' };
    const now = Math.floor(Date.now() / 1000);
    const ghostToken = customToken({ alg: 'EdDSA', typ: 'JWT' }, { sub: ghost.id, aud: 'fleet-ota', iat: now, exp: now + 600 }, ghostKey.secretKey);
    expect(await tryConnect(broker.url, asDevice(ghost, ghostToken))).toMatchObject({ ok: false, code: CONNACK.badCredentials });
    const revoked = await provisionDevice(redis, prefix, uniqueId('revoked'), { revoked: true });
    expect(await tryConnect(broker.url, asDevice(revoked, revoked.token()))).toMatchObject({ ok: false, code: CONNACK.notAuthorized });
    expect(broker.refusals()).toMatchObject({ unknown_device: expect.any(Number), revoked: expect.any(Number) });
  });

  it('refuses a malformed client id and a will outside the device presence topic (CONNACK 5)', async () => {
    expect(await tryConnect(broker.url, { clientId: 'bad id!', username: 'bad id!', password: 'x' })).toMatchObject({ ok: false, code: CONNACK.identifierRejected });
    const will = { topic: statusTopic(alice.id), payload: Buffer.from('offline'), qos: 1 as const, retain: true };
    expect(await tryConnect(broker.url, { ...asDevice(alice, alice.token()), will })).toMatchObject({ ok: false, code: CONNACK.notAuthorized });
    const wrongPayload = { topic: presenceTopic(alice.id), payload: Buffer.from('online'), qos: 1 as const, retain: true };
    expect(await tryConnect(broker.url, { ...asDevice(alice, alice.token()), will: wrongPayload })).toMatchObject({ ok: false, code: CONNACK.notAuthorized });
    expect(broker.refusals().will_denied).toBeGreaterThanOrEqual(2);
  });
});

describe('service accounts', () => {
  it('accepts the orchestrator and the dashboard with their secrets, refuses a wrong secret (CONNACK 4)', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const dashboard = await connectService(broker.url, 'dashboard');
    expect(await tryConnect(broker.url, { clientId: uniqueId('svc'), username: 'orchestrator', password: `${ORCHESTRATOR_SECRET}x` })).toMatchObject({ ok: false, code: CONNACK.badCredentials });
    expect(await tryConnect(broker.url, { clientId: uniqueId('svc'), username: 'orchestrator', password: '' })).toMatchObject({ ok: false, code: CONNACK.badCredentials });
    await endAll(orchestrator, dashboard);
  });

  it('refuses a service connecting under a registered device id (CONNACK 2)', async () => {
    expect(await tryConnect(broker.url, { clientId: bob.id, username: 'orchestrator', password: ORCHESTRATOR_SECRET })).toMatchObject({ ok: false, code: CONNACK.identifierRejected });
  });
});

describe('taken client id (aedes #16, #337)', () => {
  it('a hostile connect with a live device id is refused and the live device keeps its session', async () => {
    const device = await connectDevice(broker.url, alice);
    const inbox = collect(device);
    await device.subscribeAsync(directiveTopic(alice.id), { qos: 1 });
    const hostile = await tryConnect(broker.url, asDevice(alice, bob.token()));
    expect(hostile).toMatchObject({ ok: false, code: CONNACK.badCredentials });
    const hostileService = await tryConnect(broker.url, { clientId: alice.id, username: 'dashboard', password: 'nope' });
    expect(hostileService.ok).toBe(false);
    expect(device.connected).toBe(true);
    const orchestrator = await connectService(broker.url, 'orchestrator');
    await orchestrator.publishAsync(directiveTopic(alice.id), 'still-here', { qos: 1 });
    await waitFor(() => inbox.some((m) => m.payload === 'still-here'), 5000, 'directive to the live device');
    await endAll(device, orchestrator);
  });

  it('a refused connect with the live id does not wipe the live client\'s QoS 2 state (no duplicate delivery)', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(statusTopic(alice.id), { qos: 2 });
    // The live device: a raw socket that sends a QoS 2 PUBLISH and holds back PUBREL.
    const socket = connectTcp(broker.port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.write(rawConnect(alice.id, alice.id, alice.token()));
    await waitFor(() => Buffer.concat(received)[0] === 0x20, 5000, 'CONNACK');
    socket.write(rawPublish(statusTopic(alice.id), 'exactly-once', 2, 7));
    await waitFor(() => Buffer.concat(received).includes(Buffer.from([0x50, 0x02, 0x00, 0x07])), 5000, 'PUBREC');
    // A hostile clean-session connect under the same id is refused...
    expect(await tryConnect(broker.url, asDevice(alice, 'not-a-token'))).toMatchObject({ ok: false, code: CONNACK.badCredentials });
    // ...and the live device's retransmission is still recognised as a duplicate [MQTT-4.3.3-2].
    socket.write(rawPublish(statusTopic(alice.id), 'exactly-once', 2, 7, true));
    await sleep(300);
    expect(seen.filter((m) => m.payload === 'exactly-once')).toHaveLength(1);
    socket.destroy();
    await endAll(orchestrator);
  });

  it('the same device reconnecting takes over, and its old will does not report it offline', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(presenceTopic(bob.id), { qos: 1 });
    const first = await connectDevice(broker.url, bob);
    await waitFor(() => seen.some((m) => m.payload === 'online'), 5000, 'first online');
    const firstClosed = closedPromise(first);
    const second = await connectDevice(broker.url, bob);
    await firstClosed;
    first.end(true);
    await waitFor(() => seen.filter((m) => m.topic === presenceTopic(bob.id)).length >= 2, 5000, 'second online');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Online, online: the replaced connection's will (`offline`) was never published.
    expect(seen.filter((m) => m.topic === presenceTopic(bob.id)).map((m) => m.payload)).toEqual(['online', 'online']);
    expect(second.connected).toBe(true);
    await endAll(second, orchestrator);
  });
});

describe('revocation', () => {
  it('drops the cached key and closes the live connection within a second', async () => {
    const carol = await provisionDevice(redis, prefix, uniqueId('carol'));
    const device = await connectDevice(broker.url, carol);
    const closed = closedPromise(device);
    await redis.hset(registryKeys(prefix).device(carol.id), 'revoked', '1');
    const started = Date.now();
    await redis.publish(registryKeys(prefix).revokedChannel, carol.id);
    await closed;
    expect(Date.now() - started).toBeLessThan(1000);
    device.end(true);
    expect(await tryConnect(broker.url, asDevice(carol, carol.token()))).toMatchObject({ ok: false, code: CONNACK.notAuthorized });
  });
});

describe('token vectors over MQTT (shared/conformance/token-vectors.json, now injected)', () => {
  interface TokenCase { name: string; now: string; deviceId: string; publicKey: string; token: string; expect: 'accept' | 'refuse' }
  const vectors = loadConformance<{ cases: TokenCase[] }>('token-vectors.json');

  it('reproduces every accept / refuse on a broker whose clock is the vectors\' now', async () => {
    const vectorPrefix = testPrefix('vectors');
    const now = parseWireTime(vectors.cases[0]!.now)! * 1000;
    const vectorBroker = await startTestBroker(vectorPrefix, {}, () => now);
    try {
      for (const vector of vectors.cases) {
        expect(parseWireTime(vector.now)! * 1000).toBe(now);
        await redis.hset(registryKeys(vectorPrefix).device(vector.deviceId), {
          id: vector.deviceId, publicKey: vector.publicKey, vendorId: 'v', classId: 'c', groups: '[]', tags: '[]', revoked: '0', createdAt: vector.now,
        });
        const result = await tryConnect(vectorBroker.url, { clientId: vector.deviceId, username: vector.deviceId, password: vector.token });
        expect(result.ok ? 'accept' : 'refuse', vector.name).toBe(vector.expect);
        if (!result.ok) expect(result.code, vector.name).toBe(CONNACK.badCredentials);
        if (result.ok) await result.client.endAsync(true);
      }
    } finally {
      await vectorBroker.close();
      await deleteByPrefix(redis, vectorPrefix);
    }
  });
});
