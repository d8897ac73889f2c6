// Presence (docs/protocol.md#mqtt-topics): retained `online` / `offline` on fleet/v1/{id}/presence,
// QoS 1. The broker says `online` when a device connects and gives every device a last will of
// `offline` (its own, normalized, or one made up when it sent none).
import type { Aedes } from 'aedes';
import { PRESENCE_OFFLINE, PRESENCE_ONLINE, presenceTopic } from '../../protocol/index.js';

export type PresenceState = typeof PRESENCE_ONLINE | typeof PRESENCE_OFFLINE;

/** The will every device connection carries: retained `offline`, QoS 1. No `cmd`: Aedes wills have none. */
export function presenceWill(deviceId: string): { topic: string; payload: Buffer; qos: 1; retain: true } {
  return { topic: presenceTopic(deviceId), payload: Buffer.from(PRESENCE_OFFLINE), qos: 1, retain: true };
}

export function publishPresence(aedes: Aedes, deviceId: string, state: PresenceState): Promise<void> {
  return new Promise((resolve, reject) => {
    aedes.publish(
      { cmd: 'publish', topic: presenceTopic(deviceId), payload: Buffer.from(state), qos: 1, retain: true, dup: false },
      (error?: Error) => (error ? reject(error) : resolve()),
    );
  });
}
