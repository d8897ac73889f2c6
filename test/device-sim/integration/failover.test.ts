// Several broker URLs: devices spread over the brokers they are given, skip one that is down,
// and move to another when theirs goes away (issue 15 part 4). Two real brokers on one Redis
// registry (memory persistence: two unrelated nodes, not a cluster), real MQTT.js devices.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { brokerConfig, startBroker, type RunningBroker } from '../../../broker/index.js';
import { brokerUrlList } from '../../../device-sim/agent/index.js';
import { connectFleet, type FleetHandle } from '../../../device-sim/sim/connect.js';
import { provisionFleet, type SimDevice } from '../../../device-sim/sim/provision.js';
import { silentLogger } from '../../../runtime/logger.js';
import { encodeDeviceRecord, registryKeys } from '../../../state/device-record.js';
import { deleteKeysWithPrefix } from '../../../state/redis.js';
import { freePort } from '../../support/free-port.js';
import { waitFor } from '../support/fakes.js';
import { CLASS, trustFixture, VENDOR } from '../support/trust.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `test:failover:${randomBytes(4).toString('hex')}:`;
const t = trustFixture();
let redis: Redis;
const brokers: RunningBroker[] = [];
let handle: FleetHandle | undefined;

async function broker(): Promise<RunningBroker> {
  const running = await startBroker(brokerConfig({
    port: 0, redisUrl: REDIS_URL, keyPrefix: prefix, persistence: 'memory', limits: { connectsPerIpPerSec: 0 },
  }), { redis, logger: silentLogger() });
  brokers.push(running);
  return running;
}

async function register(devices: readonly SimDevice[]): Promise<void> {
  for (const d of devices) {
    await redis.hset(registryKeys(prefix).device(d.id), encodeDeviceRecord({
      id: d.id, publicKey: d.publicKey, vendorId: d.vendorId, classId: d.classId, groups: [], tags: [], revoked: false, createdAt: new Date().toISOString(),
    }));
  }
}

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
});

afterAll(async () => {
  await handle?.stop();
  for (const b of brokers) await b.close().catch(() => undefined);
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

describe('broker failover', () => {
  it('spreads devices over the brokers, skips a dead URL, and moves devices off a broker that goes away', async () => {
    const a = await broker();
    const b = await broker();
    const dead = `mqtt://127.0.0.1:${await freePort()}`;
    const fleet = await provisionFleet({ count: 24, idPrefix: 'fo-', root: t.root, vendorId: VENDOR, classId: CLASS, profiles: 'healthy', seed: 11 });
    await register(fleet.devices);
    handle = await connectFleet(fleet, { brokerUrl: [a.url, dead, b.url], connectWaitMs: 2_000 });
    await waitFor(() => handle!.connected() === 24, 30_000, 'every device connected despite the dead URL');
    const on = (url: string) => handle!.runtimes.filter((r) => r.transport.connected && r.transport.brokerUrl === url).length;
    // Random starting points spread the fleet: both live brokers carry devices.
    expect(on(a.url)).toBeGreaterThan(0);
    expect(on(b.url)).toBeGreaterThan(0);
    expect(on(a.url) + on(b.url)).toBe(24);

    const movedOff = on(a.url);
    await a.close();
    await waitFor(() => handle!.connected() === 24 && on(b.url) === 24, 30_000, 'every device on the surviving broker');
    const failovers = handle.runtimes.reduce((n, r) => n + r.transport.stats.failovers, 0);
    expect(failovers).toBeGreaterThanOrEqual(movedOff);
  }, 90_000);

  it('refuses a broker list without a URL or with a non-MQTT entry, naming the entry', () => {
    expect(brokerUrlList('mqtt://a:1, mqtts://b:2')).toEqual(['mqtt://a:1', 'mqtts://b:2']);
    expect(() => brokerUrlList(' , ')).toThrow(/no broker URL/);
    expect(() => brokerUrlList('mqtt://a:1,http://b:2')).toThrow(/"http:\/\/b:2"/);
    expect(() => brokerUrlList('not a url')).toThrow(/not a broker URL/);
  });
});
