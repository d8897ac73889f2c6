// Reads the retained presence of some devices as the orchestrator's service account sees it
// (subscribe, collect the retained messages, leave). Read-only.
import mqtt from 'mqtt';
import { presenceTopic } from '../../../protocol/index.js';
import type { ProcessStack } from '../../support/process-stack.js';
import { waitUntil } from './stack-probes.js';

/** Device id → retained presence payload; devices with none are absent. */
export async function retainedPresence(stack: ProcessStack, deviceIds: readonly string[], timeoutMs = 10_000): Promise<Map<string, string>> {
  const client = await mqtt.connectAsync(stack.brokerUrl, { username: stack.serviceAccount.username, password: stack.serviceAccount.secret, clean: true, reconnectPeriod: 0 });
  const byTopic = new Map(deviceIds.map((id) => [presenceTopic(id), id]));
  const found = new Map<string, string>();
  client.on('message', (topic, payload, packet) => {
    const id = byTopic.get(topic);
    if (id !== undefined && packet.retain) found.set(id, payload.toString());
  });
  try {
    await client.subscribeAsync([...byTopic.keys()], { qos: 1 });
    // Retained messages follow the SUBACK; a device with none sends nothing, hence the deadline.
    await waitUntil(() => found.size === deviceIds.length, timeoutMs, 'retained presence').catch(() => undefined);
    return found;
  } finally {
    await client.endAsync(true);
  }
}
