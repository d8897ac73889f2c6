// The MQTT intake bridge (FLEET_INTAKE_MODE=bridge, for a broker that cannot write the intake
// itself, e.g. Mosquitto): subscribes to every device's status and presence topic as a service
// account and appends each message to its device's intake shard (state/intake) before the PUBACK
// goes back, in batches. A report the broker sees acknowledged is therefore durable, whatever
// happens to this process afterwards. With the embedded broker (the default, `edge`) the broker
// writes the shards itself and nothing here runs.
import type { RedisClient as Redis } from '../../state/redis.js';
import type { MqttClient } from 'mqtt';
import { ALL_PRESENCE_TOPICS, ALL_STATUS_TOPICS } from '../../protocol/index.js';
import type { Logger } from '../../runtime/logger.js';
import { DEFAULT_INTAKE_SHARDS, IntakeWriter, type IntakeReadinessSink, type IntakeWriterOptions } from '../../state/intake/index.js';
import { installDeferredAcks } from './deferred-ack.js';

/** Shared-subscription group: the broker hands each report to one intake connection of the group. */
export const INTAKE_SHARE_GROUP = 'fleet-orchestrators';

export function intakeTopics(shared: boolean): string[] {
  const topics = [ALL_STATUS_TOPICS, ALL_PRESENCE_TOPICS];
  return shared ? topics.map((t) => `$share/${INTAKE_SHARE_GROUP}/${t}`) : topics;
}

/**
 * Hands every message of `client` to the writer, which acknowledges each only once it is in its
 * shard (deferred-ack.ts, state/intake/intake-writer.ts). Install it before the connection is
 * made (connectService's `prepare`): a persistent session gets its queued messages right behind
 * CONNACK. Several intake connections may share one writer.
 */
export function installIntakeHandler(client: MqttClient, writer: IntakeWriter): void {
  installDeferredAcks(client, {
    take: ({ packet, ack }) => writer.take({ topic: packet.topic, payload: packet.payload, ack }),
    room: () => writer.room(),
  });
}

/** A writer for the intake shards under `prefix` (close it before the MQTT connections). */
export function createIntakeWriter(redis: Redis, prefix: string, logger: Logger, readiness?: IntakeReadinessSink, options: Partial<IntakeWriterOptions> = {}, shards = DEFAULT_INTAKE_SHARDS): IntakeWriter {
  return new IntakeWriter(redis, { prefix, shards }, logger, readiness, options);
}

/** Subscribes the intake (several connections in one shared-subscription group add up). */
export async function subscribeIntake(client: MqttClient, shared: boolean): Promise<void> {
  await client.subscribeAsync(intakeTopics(shared), { qos: 1 });
}

/** Both steps on an already connected client (fine for a clean session: nothing is queued for it). */
export async function startIntake(client: MqttClient, writer: IntakeWriter, shared = true): Promise<void> {
  installIntakeHandler(client, writer);
  await subscribeIntake(client, shared);
}
