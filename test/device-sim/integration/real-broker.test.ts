// The simulator against the real broker (broker/: token auth against the Redis registry, ACL,
// presence): devices registered in a unique Redis prefix, directives published by the
// orchestrator service account. Cleans its keys by prefix (SCAN + DEL).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directiveTopic } from '../../../protocol/index.js';
import { brokerConfig, hashServiceSecret, startBroker, type RunningBroker } from '../../../broker/index.js';
import { encodeDeviceRecord, registryKeys } from '../../../state/device-record.js';
import { silentLogger } from '../../../runtime/logger.js';
import { connectFleet } from '../../../device-sim/sim/connect.js';
import { provisionFleet, type SimDevice } from '../../../device-sim/sim/provision.js';
import { waitFor } from '../support/fakes.js';
import { Observer } from '../support/broker.js';
import { startPayloadServer, type PayloadServer } from '../support/payload-server.js';
import { CLASS, directiveMessage, makeRelease, trustFixture, VENDOR } from '../support/trust.js';
import { deleteKeysWithPrefix } from '../../../state/redis.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:device-sim:${randomBytes(4).toString('hex')}:`;
const secret = randomBytes(32).toString('base64url');
const t = trustFixture();
let redis: Redis;
let broker: RunningBroker;
let observer: Observer;
let files: PayloadServer;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  broker = await startBroker(brokerConfig({
    port: 0, redisUrl: REDIS_URL, keyPrefix: prefix,
    serviceAccounts: [{ username: 'orchestrator', secretSha256: hashServiceSecret(secret), role: 'orchestrator' }],
    limits: { connectsPerIpPerSec: 0 },
  }), { redis, logger: silentLogger() });
  observer = await Observer.connect(broker.url, { username: 'orchestrator', password: secret });
  files = await startPayloadServer();
});

afterAll(async () => {
  await observer?.close();
  await broker?.close();
  await files?.close();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

async function register(devices: readonly SimDevice[]): Promise<void> {
  for (const d of devices) {
    await redis.hset(registryKeys(prefix).device(d.id), encodeDeviceRecord({
      id: d.id, publicKey: d.publicKey, vendorId: d.vendorId, classId: d.classId, groups: [], tags: [], revoked: false, createdAt: '2026-01-01T00:00:00Z',
    }));
  }
}

describe('simulator against the real broker', () => {
  it('registered devices connect with their tokens, receive directives and report; an unregistered one is refused', async () => {
    const fleet = await provisionFleet({ count: 12, idPrefix: 'rb-', root: t.root, vendorId: VENDOR, classId: CLASS, profiles: 'healthy:75,health-check-failure:25', seed: 5 });
    const registered = fleet.devices.slice(0, 11);
    await register(registered);
    const handle = await connectFleet(fleet, { brokerUrl: broker.url, connectWaitMs: 2_000 });
    await waitFor(() => handle.connected() === 11, 10_000, 'registered devices connected');
    const stranger = handle.runtimes.find((r) => r.id === fleet.devices[11]!.id)!;
    expect(stranger.transport.connected).toBe(false);
    expect(stranger.transport.stats.attempts).toBeGreaterThanOrEqual(1);
    expect(broker.refusals()).toMatchObject({ unknown_device: expect.any(Number) });

    const bytes = new Uint8Array(randomBytes(30_000));
    files.files.set('/rb.bin', { bytes });
    const release = makeRelease(t, { payload: bytes, uri: files.url('/rb.bin') });
    for (const [i, d] of registered.entries()) await observer.publishDirective(directiveTopic(d.id), directiveMessage(t, { deviceId: d.id, counter: i + 1, release }));
    const done = () => registered.every((d) => observer.of(d.id).some((r) => r.state === 'succeeded' || r.state === 'failed'));
    await waitFor(done, 20_000, 'every registered device finished');
    for (const d of registered) {
      expect(observer.of(d.id).at(-1)!.state, d.id).toBe(d.profile === 'healthy' ? 'succeeded' : 'failed');
    }
    // Presence `online` for each connected device (the broker says it too, hence the set).
    expect([...new Set(observer.presence.filter((p) => p.value === 'online').map((p) => p.deviceId))].sort()).toEqual(registered.map((d) => d.id).sort());
    await handle.stop();
    await waitFor(() => registered.every((d) => observer.presence.filter((p) => p.deviceId === d.id).at(-1)?.value === 'offline'), 5_000, 'offline presence');
  }, 60_000);
});
