// Connects one plain MQTT.js client for the benchmark: clean session, no automatic reconnect (a
// lost client must show, not heal), a few attempts with jittered backoff against connect storms.
import { setTimeout as sleep } from 'node:timers/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { RawBenchmarkError } from './errors.js';

export const CLIENT_DEFAULTS = { connectAttempts: 3, connectTimeoutMs: 30_000, keepaliveSeconds: 60 } as const;

/** A connected client, or ERR_BENCH_CONNECT after `attempts` tries; `onRetry` counts the failed tries. */
export async function connectClient(url: string, clientId: string, onRetry: () => void = () => undefined, attempts: number = CLIENT_DEFAULTS.connectAttempts): Promise<MqttClient> {
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      // allowRetries=false: a socket closed before CONNACK rejects instead of leaving the promise pending.
      return await mqtt.connectAsync(url, { clientId, clean: true, reconnectPeriod: 0, keepalive: CLIENT_DEFAULTS.keepaliveSeconds, connectTimeout: CLIENT_DEFAULTS.connectTimeoutMs, protocolVersion: 4 }, false);
    } catch (error) {
      lastError = error;
      onRetry();
      await sleep(100 * attempt + Math.random() * 100);
    }
  }
  throw new RawBenchmarkError('ERR_BENCH_CONNECT', `${clientId} could not connect: ${(lastError as Error).message}`);
}
