// Aedes subscribe hooks: authorizeSubscribe (new and restored-from-persistence subscriptions
// alike go through it) and authorizeForward (every delivery, retained and queued included).
import type { AedesPublishPacket, Client, Subscription } from 'aedes';
import { canReceive, canSubscribe, parseSharedSubscription } from '../acl.js';
import type { AdapterContext } from './context.js';
import type { SharedSubscriptions } from './shared-subscriptions.js';

export function createSubscribeHooks(context: AdapterContext, shared: SharedSubscriptions) {
  function authorizeSubscribe(client: Client, subscription: Subscription, callback: (error: Error | null, subscription?: Subscription | null) => void): void {
    const session = context.sessions.get(client);
    const decision = session ? canSubscribe(session.identity, subscription.topic) : { ok: false as const };
    if (!decision.ok) {
      context.record('subscribe_denied');
      // A null subscription is a SUBACK failure (0x80) for this filter, [MQTT-3.9.3]; on a
      // restored session the filter is simply not re-added.
      return callback(null, null);
    }
    if (decision.shared) shared.add(client, decision.shared, subscription.qos);
    callback(null, subscription);
  }

  function authorizeForward(client: Client, packet: AedesPublishPacket): AedesPublishPacket | null {
    const session = context.sessions.get(client);
    if (!session || !canReceive(session.identity, packet.topic)) {
      context.record('forward_denied');
      return null;
    }
    context.metrics.messagesOut.inc();
    return packet;
  }

  function onUnsubscribe(unsubscriptions: string[], client: Client): void {
    for (const topic of unsubscriptions) {
      const parsed = parseSharedSubscription(topic);
      if (parsed) shared.remove(client, parsed);
    }
  }

  return { authorizeSubscribe, authorizeForward, onUnsubscribe };
}
