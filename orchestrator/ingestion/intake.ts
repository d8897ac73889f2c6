// Status intake: subscribes to every device's status and presence topic as a service account
// and appends each message to a Redis Stream before the PUBACK goes back. A report the broker
// sees acknowledged is therefore durable, whatever happens to this process afterwards.
import type { Redis } from 'ioredis';
import type { MqttClient } from 'mqtt';
import { ALL_PRESENCE_TOPICS, ALL_STATUS_TOPICS } from '../../protocol/index.js';

export function ingestStreamKey(prefix: string): string {
  return `${prefix}ingest`;
}

/** Shared-subscription group: the broker hands each report to one intake connection of the group. */
export const INTAKE_SHARE_GROUP = 'fleet-orchestrators';

export function intakeTopics(shared: boolean): string[] {
  const topics = [ALL_STATUS_TOPICS, ALL_PRESENCE_TOPICS];
  return shared ? topics.map((t) => `$share/${INTAKE_SHARE_GROUP}/${t}`) : topics;
}

/**
 * MQTT.js sends the PUBACK only after `handleMessage` calls back, and takes the next packet
 * after that: so the XADD completes before the ack, one message at a time per connection.
 * Install it before the connection is made (connectService's `prepare`): a persistent session
 * gets its queued messages right behind CONNACK.
 */
export function installIntakeHandler(client: MqttClient, redis: Redis, prefix: string): void {
  const key = ingestStreamKey(prefix);
  client.handleMessage = (packet, callback) => {
    if (packet.cmd !== 'publish') return callback();
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : Buffer.from(packet.payload);
    redis.xadd(key, '*', 't', packet.topic, 'p', payload, 'r', Date.now()).then(
      () => callback(),
      (error: Error) => callback(error),
    );
  };
}

/** Subscribes the intake (several connections in one shared-subscription group add up). */
export async function subscribeIntake(client: MqttClient, shared: boolean): Promise<void> {
  await client.subscribeAsync(intakeTopics(shared), { qos: 1 });
}

/** Both steps on an already connected client (fine for a clean session: nothing is queued for it). */
export async function startIntake(client: MqttClient, redis: Redis, prefix: string, shared = true): Promise<void> {
  installIntakeHandler(client, redis, prefix);
  await subscribeIntake(client, shared);
}
