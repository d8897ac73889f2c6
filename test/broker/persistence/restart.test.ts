// The broker's Redis persistence (the default): one SUBSCRIBE with several filters on a
// persistent session gets its SUBACK, and a node restarted on the same Redis prefix still has
// the sessions, their subscriptions, the QoS 1 messages queued or in flight to them, and the
// retained messages. `persistence: 'memory'` (the opt-out) forgets all of it, as it always did.
import type { MqttClient } from 'mqtt';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_PRESENCE_TOPICS, ALL_STATUS_TOPICS, directiveTopic, statusTopic } from '../../../protocol/index.js';
import { subscribeIntake } from '../../../orchestrator/ingestion/intake.js';
import { connectService as connectOrchestratorService } from '../../../orchestrator/mqtt/service-client.js';
import type { BrokerConfig, RunningBroker } from '../../../broker/index.js';
import {
  ORCHESTRATOR_SECRET, REDIS_URL, collect, connectDevice, connectService, deleteByPrefix, endAll, provisionDevice, sleep,
  startTestBroker, testPrefix, uniqueId, waitFor,
} from '../helpers.js';

let redis: Redis;
const prefixes: string[] = [];
const brokers: RunningBroker[] = [];

beforeAll(() => {
  redis = new Redis(REDIS_URL);
});

afterAll(async () => {
  await Promise.all(brokers.map((broker) => broker.close()));
  for (const prefix of prefixes) await deleteByPrefix(redis, prefix);
  await redis.quit();
});

async function start(prefix: string, persistence: BrokerConfig['persistence']): Promise<RunningBroker> {
  const broker = await startTestBroker(prefix, { persistence });
  brokers.push(broker);
  return broker;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))),
  ]);
}

/** The orchestrator's intake session, connected with the orchestrator's own function. */
function connectIntake(url: string, instanceId: string, prepare?: (client: MqttClient) => void): Promise<MqttClient> {
  return connectOrchestratorService({ url, username: 'orchestrator', secret: ORCHESTRATOR_SECRET }, 'intake', instanceId, prepare);
}

interface Outcome {
  /** Status payloads the resumed intake session received without subscribing again. */
  resumed: string[];
  /** What a device subscribing after the restart got on its directive topic. */
  retained: string[];
}

/**
 * Node 1: the intake subscribes (status + presence in one SUBSCRIBE), holds one report
 * unacknowledged and drops; a second report is queued while it is away; a directive is retained.
 * Then node 1 stops and node 2 starts on the same prefix.
 */
async function restartScenario(persistence: BrokerConfig['persistence']): Promise<Outcome> {
  const prefix = testPrefix(`restart-${persistence}`);
  prefixes.push(prefix);
  const sender = await provisionDevice(redis, prefix, uniqueId('sender'));
  const receiver = await provisionDevice(redis, prefix, uniqueId('receiver'));
  const instanceId = uniqueId('instance');

  const first = await start(prefix, persistence);
  const held: string[] = [];
  const intake = await connectIntake(first.url, instanceId, (client) => {
    // The report is never acknowledged: it stays in flight to this session (MQTT.js then reads
    // nothing more, so presence before it is acknowledged).
    client.handleMessage = (packet, callback) => {
      if (packet.cmd === 'publish' && packet.topic === statusTopic(sender.id)) held.push(packet.payload.toString());
      else callback();
    };
  });
  await withTimeout(subscribeIntake(intake, false), 10_000, 'SUBACK for the intake subscription');
  const device = await connectDevice(first.url, sender);
  await device.publishAsync(statusTopic(sender.id), 'in-flight', { qos: 1 });
  await waitFor(() => held.includes('in-flight'), 5_000, 'the in-flight report at the intake');
  intake.end(true);
  await sleep(200);
  await device.publishAsync(statusTopic(sender.id), 'queued', { qos: 1 });
  const orchestrator = await connectService(first.url, 'orchestrator');
  await orchestrator.publishAsync(directiveTopic(receiver.id), 'desired', { qos: 1, retain: true });
  await endAll(device, orchestrator);
  await first.close();

  const second = await start(prefix, persistence);
  const resumed: string[] = [];
  const again = await connectIntake(second.url, instanceId, (client) => {
    client.on('message', (topic, payload) => {
      if (topic === statusTopic(sender.id)) resumed.push(payload.toString());
    });
  });
  const late = await connectDevice(second.url, receiver);
  const inbox = collect(late);
  await late.subscribeAsync(directiveTopic(receiver.id), { qos: 1 });
  // Long enough for a replayed queue and a retained message on a loaded machine.
  await sleep(1_500);
  await endAll(again, late);
  await second.close();
  return { resumed, retained: inbox.filter((m) => m.topic === directiveTopic(receiver.id)).map((m) => m.payload) };
}

describe('broker persistence across a restart', () => {
  it('answers one SUBSCRIBE of several filters on a persistent session (the intake) on a single node', async () => {
    const prefix = testPrefix('multi-filter');
    prefixes.push(prefix);
    const broker = await start(prefix, 'redis');
    const intake = await connectIntake(broker.url, uniqueId('instance'));
    const granted = await withTimeout(intake.subscribeAsync([ALL_STATUS_TOPICS, ALL_PRESENCE_TOPICS, statusTopic('one-device')], { qos: 1 }), 10_000, 'SUBACK');
    expect(granted.map((g) => g.qos)).toEqual([1, 1, 1]);
    await withTimeout(subscribeIntake(intake, false), 10_000, 'SUBACK for the intake subscription, again');
    await endAll(intake);
  });

  it('redis (default): the resumed session gets the in-flight and the queued report, a new subscriber the retained directive', async () => {
    const outcome = await restartScenario('redis');
    expect(outcome.resumed).toEqual(['in-flight', 'queued']);
    expect(outcome.retained).toEqual(['desired']);
  });

  it('memory (opt-out): all of it is gone', async () => {
    const outcome = await restartScenario('memory');
    expect(outcome).toEqual({ resumed: [], retained: [] });
  });
});
