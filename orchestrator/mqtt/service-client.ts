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

export async function connectService(credentials: ServiceCredentials, role: string): Promise<MqttClient> {
  const options: mqtt.IClientOptions = {
    clientId: `fleet-${role}-${randomBytes(6).toString('hex')}`,
    clean: true,
    reconnectPeriod: 1_000,
    connectTimeout: 10_000,
    // Many directives in flight at once; MQTT.js queues beyond the broker's receive maximum.
    queueQoSZero: false,
  };
  if (credentials.username !== undefined) options.username = credentials.username;
  if (credentials.secret !== undefined) options.password = credentials.secret;
  const client = mqtt.connect(credentials.url, options);
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
