// Issue 21 point 15 against a real broker (Aedes over loopback, registry in the shared Redis under
// a unique prefix): docs/protocol.md#transport. MQTT 3.1.1 with a clean session works and the
// device gets its directive topic at QoS 1; MQTT 5 is refused; and at the broker's default
// publish limit a device reporting every 1 % in one burst is disconnected, while the reference
// agent's pacing (every 10 %) is not.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStatusBody, directiveTopic, encodeStatusReport, formatWireTime, statusTopic } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { DEFAULT_LIMITS } from '../../../broker/config/broker-config.js';
import type { RunningBroker } from '../../../broker/index.js';
import {
  REDIS_URL, closedPromise, connectDevice, deleteByPrefix, endAll, provisionDevice, startTestBroker, testPrefix, tryConnect, uniqueId, type TestDevice,
} from '../../broker/helpers.js';

let redis: Redis;
let prefix: string;
let broker: RunningBroker;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('transport-contract');
  // The broker's default publish limits: the rule docs/protocol.md states.
  broker = await startTestBroker(prefix, { limits: { publishesPerClientPerSec: DEFAULT_LIMITS.publishesPerClientPerSec, publishThrottleMaxDelayMs: DEFAULT_LIMITS.publishThrottleMaxDelayMs } });
});

afterAll(async () => {
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

function progressReports(device: TestDevice, percents: number[]): Buffer[] {
  return percents.map((progress, i) => Buffer.from(encodeStatusReport(buildStatusBody({
    deviceId: device.id, rolloutId: 'r-1', counter: 1, seq: i + 1, state: 'downloading', progress,
    installed: { releaseId: 'factory', sequence: 0 }, rootVersion: 1, at: formatWireTime(Date.now() / 1000),
  }), device.key, nodeEd25519)));
}

describe('transport (issue 21 point 15)', () => {
  it('MQTT 3.1.1, clean session: the directive subscription is granted at QoS 1, a wildcard is refused', async () => {
    const device = await provisionDevice(redis, prefix, uniqueId('t311'));
    const client = await connectDevice(broker.url, device, { protocolVersion: 4, clean: true, keepalive: 60 });
    const granted = await client.subscribeAsync(directiveTopic(device.id), { qos: 1 });
    expect(granted.map((g) => g.qos)).toEqual([1]);
    // SUBACK 0x80: mqtt.js rejects the subscription.
    await expect(client.subscribeAsync('fleet/v1/+/directive', { qos: 1 })).rejects.toThrow();
    await endAll(client);
  });

  it('MQTT 5 is refused', async () => {
    const device = await provisionDevice(redis, prefix, uniqueId('t5'));
    const result = await tryConnect(broker.url, { clientId: device.id, username: device.id, password: device.token(), protocolVersion: 5 });
    if (result.ok) await endAll(result.client);
    expect(result.ok).toBe(false);
  });

  it('paced reports (every 10 %) pass; every 1 % in one burst is disconnected (publish_flood)', async () => {
    const paced = await provisionDevice(redis, prefix, uniqueId('paced'));
    const pacedClient = await connectDevice(broker.url, paced);
    for (const report of progressReports(paced, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100])) {
      await pacedClient.publishAsync(statusTopic(paced.id), report, { qos: 1 });
    }
    expect(pacedClient.connected).toBe(true);

    const eager = await provisionDevice(redis, prefix, uniqueId('eager'));
    const eagerClient = await connectDevice(broker.url, eager);
    const closed = closedPromise(eagerClient);
    const floods = broker.refusals().publish_flood ?? 0;
    for (const report of progressReports(eager, Array.from({ length: 101 }, (_, i) => i))) {
      eagerClient.publish(statusTopic(eager.id), report, { qos: 1 }, () => undefined);
    }
    await closed;
    expect((broker.refusals().publish_flood ?? 0) - floods).toBe(1);
    // Closed by the broker with QoS 1 publishes unacknowledged: end without waiting for them.
    eagerClient.end(true);
    await endAll(pacedClient);
  });
});
