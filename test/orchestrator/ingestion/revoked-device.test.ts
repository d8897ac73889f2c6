// Ingestion hears revocations: a report from a device revoked a moment ago is refused as
// `unknown_device` at once, not after its cached key's time to live (30 s) runs out. Real Redis,
// the real consumer; reports written to the device's intake shard as the broker writes them.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatusBody, encodePublicKey, encodeStatusReport, formatWireTime, statusTopic } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { EventLog } from '../../../orchestrator/events/event-log.js';
import { StatusConsumer } from '../../../orchestrator/ingestion/consumer.js';
import { DEFAULT_INTAKE_SHARDS, intakeStreamKey, shardOf } from '../../../state/intake/index.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import { silentLogger } from '../../../runtime/logger.js';
import { DEVICE_KEY_CACHE_DEFAULTS, registerDevices, revokeDevice } from '../../../state/registry/index.js';
import { deleteByPrefix, testPrefix, testRedis } from '../events/helpers.js';

const prefix = testPrefix('revoked-ingest');
const device = { id: 'rev-dev-1', key: generateSigningKey() };
let redis: Redis;
let reader: Redis;
let consumer: StatusConsumer;

function report(seq: number): Buffer {
  const body = buildStatusBody({
    deviceId: device.id,
    rolloutId: 'ro-none',
    counter: 1,
    seq,
    state: 'accepted',
    installed: { releaseId: 'rel-0', sequence: 1 },
    rootVersion: 1,
    at: formatWireTime(Math.floor(Date.now() / 1000)),
  });
  return Buffer.from(encodeStatusReport(body, device.key, nodeEd25519));
}

async function send(seq: number): Promise<void> {
  await redis.xadd(intakeStreamKey(prefix, shardOf(device.id, DEFAULT_INTAKE_SHARDS)), '*', 't', statusTopic(device.id), 'p', report(seq), 'r', Date.now());
}

beforeAll(async () => {
  redis = testRedis();
  reader = redis.duplicate();
  await registerDevices(redis, prefix, [{ id: device.id, publicKey: encodePublicKey(device.key.publicKey), vendorId: 'acme', classId: 'gw', groups: [], tags: [] }], new Date());
  consumer = new StatusConsumer(redis, reader, prefix, new EventLog(redis, prefix), silentLogger(), { blockMs: 50 });
  await consumer.start();
});

afterAll(async () => {
  await consumer?.stop();
  await deleteByPrefix(redis, prefix);
  await reader?.quit();
  await redis?.quit();
});

describe('ingestion and revocation', () => {
  it('refuses a revoked device\'s next report at once', async () => {
    // Verified with the registered key (cached now); no rollout names it, so nothing applies.
    await send(1);
    await expect.poll(() => consumer.stats.outcomes.unknown_rollout ?? 0, { timeout: 10_000, interval: 20 }).toBe(1);
    expect(consumer.stats.outcomes.unknown_device).toBeUndefined();

    await revokeDevice(redis, prefix, device.id, new Date());
    await send(2);
    // Well inside the cache's time to live: only the revocation channel can have dropped the key.
    await expect.poll(() => consumer.stats.outcomes.unknown_device ?? 0, { timeout: DEVICE_KEY_CACHE_DEFAULTS.ttlMs / 3, interval: 20 }).toBe(1);
    expect(consumer.stats.outcomes.unknown_rollout).toBe(1);
  });
});
