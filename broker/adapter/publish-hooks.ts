// Aedes publish hooks: authorizePublish for client publishes and for last wills (aedes #211:
// wills are authorized like publishes), the per-device throttle (one allowance per client id,
// kept across reconnects), and the drop path for publishes that are acknowledged but not
// delivered ([MQTT-3.3.5-2]).
import type { Aedes, Client, PublishPacket } from 'aedes';
import { canPublish, canWill } from '../acl.js';
import { RefusalError } from '../errors.js';
import type { RefusalReason } from '../refusals.js';
import { ClientBuckets } from '../limits/client-buckets.js';
import { isDropped, markDropped, type AdapterContext } from './context.js';
import { isStatusTopic, writeStatusAtEdge } from './edge-intake.js';

type Callback = (error?: Error | null) => void;
type WillPacket = { topic: string; payload: Buffer | string; clientId?: string; cmd?: string };

function payloadBytes(payload: Buffer | string | undefined): Buffer {
  return Buffer.isBuffer(payload) ? payload : Buffer.from(payload ?? '');
}

/**
 * Makes `aedes.publish` skip packets marked dropped. Aedes calls `client.broker.publish` after
 * a publish is authorized (and acknowledged); this is the one place a drop takes effect.
 */
export function installDropFilter(aedes: Aedes): void {
  const original = aedes.publish.bind(aedes) as (packet: object, client: unknown, done?: Callback) => void;
  (aedes as unknown as { publish: (packet: object, client?: unknown, done?: Callback) => void }).publish = (packet, client, done) => {
    const callback = typeof client === 'function' ? (client as Callback) : done;
    if (isDropped(packet)) {
      if (callback) setImmediate(callback);
      return;
    }
    if (typeof client === 'function') original(packet, null, client as Callback);
    else original(packet, client ?? null, done);
  };
}

export function createPublishHooks(context: AdapterContext) {
  const { limits } = context.config;
  const rate = limits.publishesPerClientPerSec;
  // An emptied bucket owes at most the throttle's longest wait (beyond it the client is cut off):
  // once idle for a refill plus that wait it is full again, and forgetting it changes nothing.
  const publishes =
    rate > 0
      ? new ClientBuckets({ ratePerSec: rate, burst: rate, idleMs: ((rate + 1) * 1000) / rate + limits.publishThrottleMaxDelayMs, maxTracked: limits.clientLimitsMaxTracked })
      : undefined;

  function drop(packet: object, reason: RefusalReason | undefined, callback: Callback): void {
    if (reason) context.record(reason);
    markDropped(packet);
    callback(null);
  }

  // A will reaches authorizePublish from Client#close (client closed), or from Aedes' sweep of
  // wills left by a dead node (client null, or a live client that reconnected here).
  function authorizeWill(client: Client | null, will: WillPacket, callback: Callback): void {
    const deviceId = client?.id ?? will.clientId ?? '';
    const session = client ? context.sessions.get(client) : undefined;
    if (session?.identity.kind === 'service' || !canWill(deviceId, { topic: will.topic, payload: payloadBytes(will.payload) })) {
      return drop(will, 'will_denied', callback);
    }
    // Stale: the device is connected again (a newer connection took over, or it is live here),
    // or the broker is closing and has already said `offline` itself.
    const stale = (client !== null && !client.closed) || session?.superseded === true || context.shuttingDown;
    if (stale) return drop(will, undefined, callback);
    // The will says `offline`: the disconnect handler must not say it again.
    if (session) session.offlineSaid = true;
    callback(null);
  }

  function decide(client: Client, packet: PublishPacket, callback: Callback): void {
    const session = context.sessions.get(client);
    if (!session) return callback(new RefusalError('publish_denied'));
    const decision = canPublish(session.identity, { topic: packet.topic, payload: payloadBytes(packet.payload), retain: packet.retain }, limits);
    if (decision.ok) {
      // The edge write: durable in its shard before Aedes sends the PUBACK (edge-intake.ts).
      if (context.intake && session.identity.kind === 'device' && isStatusTopic(packet.topic)) return writeStatusAtEdge(context.intake, packet, callback);
      return callback(null);
    }
    if (decision.action === 'drop') return drop(packet, decision.reason, callback);
    context.record(decision.reason);
    context.logger.info({ clientId: client.id, reason: decision.reason }, 'client disconnected by publish check');
    callback(new RefusalError(decision.reason));
  }

  function authorizePublish(client: Client | null, packet: PublishPacket, callback: Callback): void {
    const will = packet as unknown as WillPacket;
    if (client === null || client.closed || will.cmd !== 'publish') return authorizeWill(client, will, callback);
    context.metrics.messagesIn.inc();
    const session = context.sessions.get(client);
    if (publishes === undefined || session?.identity.kind !== 'device') return decide(client, packet, callback);
    // Throttle, don't drop: delaying the callback holds Aedes' read loop for this client
    // (it reads the next chunk only when every packet of the last one is handled), so a
    // flooder is slowed by TCP backpressure while other clients are served normally.
    const delay = publishes.reserve(client.id, performance.now());
    if (delay === 0) return decide(client, packet, callback);
    if (delay > limits.publishThrottleMaxDelayMs) {
      publishes.release(client.id);
      context.record('publish_flood');
      context.logger.info({ clientId: client.id }, 'client disconnected: publish flood');
      return callback(new RefusalError('publish_flood'));
    }
    context.record('publish_rate');
    setTimeout(() => {
      if (client.closed) callback(new Error('connection closed'));
      else decide(client, packet, callback);
    }, delay);
  }

  return { authorizePublish };
}
