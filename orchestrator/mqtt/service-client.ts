// The orchestrator's MQTT connection as a service account: publishes directives (QoS 1,
// retained: the desired state a reconnecting device receives) and carries status intake.
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { directiveTopic } from '../../protocol/index.js';

export interface ServiceCredentials {
  url: string;
  username?: string;
  secret?: string;
}

/**
 * Connects a service account. With `sessionId`, the session is persistent (clean: false) under
 * a stable client id: the broker queues QoS 1 messages while this process is away, and a
 * process restarted with the same id receives them.
 */
export async function connectService(credentials: ServiceCredentials, role: string, sessionId?: string, prepare?: (client: MqttClient) => void): Promise<MqttClient> {
  const options: mqtt.IClientOptions = {
    clientId: sessionId ? `fleet-${role}-${sessionId.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64)}` : `fleet-${role}-${randomBytes(6).toString('hex')}`,
    clean: sessionId === undefined,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    // Many directives in flight at once; MQTT.js queues beyond the broker's receive maximum.
    queueQoSZero: false,
  };
  if (credentials.username !== undefined) options.username = credentials.username;
  if (credentials.secret !== undefined) options.password = credentials.secret;
  const client = mqtt.connect(credentials.url, options);
  // Before any packet is read: a resumed session's queued messages follow CONNACK immediately.
  prepare?.(client);
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => {
      client.end(true);
      reject(new Error(`MQTT connection to ${credentials.url} as ${credentials.username ?? '(anonymous)'} failed: ${error.message}`));
    };
    client.once('connect', () => {
      client.off('error', onError);
      resolve();
    });
    client.once('error', onError);
  });
  return client;
}

/** Publishes a directive message retained at QoS 1; resolves on the broker's PUBACK. */
export function publishDirective(client: MqttClient, deviceId: string, message: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    client.publish(directiveTopic(deviceId), message, { qos: 1, retain: true }, (error) => (error ? reject(error) : resolve()));
  });
}
