// Authorization decisions, pure: who may subscribe to, publish to and receive which topic
// (docs/design.md#broker-rules). The Aedes adapter (adapter/aedes-hooks.ts) only calls these.
// Topic strings come from protocol/ids.ts and nowhere else.
import {
  ALL_PRESENCE_TOPICS,
  ALL_STATUS_TOPICS,
  PRESENCE_OFFLINE,
  PRESENCE_ONLINE,
  directiveTopic,
  isDeviceId,
  parseDeviceTopic,
  presenceTopic,
} from '../protocol/index.js';
import type { ServiceRole } from './config/broker-config.js';
import type { RefusalReason } from './refusals.js';

export type Identity =
  | { kind: 'device'; deviceId: string }
  | { kind: 'service'; username: string; role: ServiceRole };

export interface PublishRequest {
  topic: string;
  payload: Uint8Array;
  retain: boolean;
}

export interface AclLimits {
  maxDirectiveBytes: number;
  maxStatusBytes: number;
}

/** `drop`: acknowledge and discard ([MQTT-3.3.5-2] allows it); `disconnect`: close the connection. */
export type PublishDecision = { ok: true } | { ok: false; reason: RefusalReason; action: 'drop' | 'disconnect' };

export interface SharedSubscription {
  group: string;
  filter: string;
}

export type SubscribeDecision = { ok: true; shared?: SharedSubscription } | { ok: false };

const SYS_PREFIX = '$SYS';
const SHARE_PREFIX = '$share/';
const SHARE_GROUP = /^[A-Za-z0-9_-]{1,64}$/;

export function sameIdentity(a: Identity, b: Identity): boolean {
  if (a.kind === 'device') return b.kind === 'device' && a.deviceId === b.deviceId;
  return b.kind === 'service' && a.username === b.username;
}

/** `$share/<group>/<filter>` (MQTT 5 §4.8.2 syntax); undefined for anything else. */
export function parseSharedSubscription(topicFilter: string): SharedSubscription | undefined {
  if (!topicFilter.startsWith(SHARE_PREFIX)) return undefined;
  const rest = topicFilter.slice(SHARE_PREFIX.length);
  const slash = rest.indexOf('/');
  if (slash <= 0) return undefined;
  const group = rest.slice(0, slash);
  const filter = rest.slice(slash + 1);
  if (!SHARE_GROUP.test(group) || filter.length === 0) return undefined;
  return { group, filter };
}

/** Status and presence filters a service account may read: the two wildcards or one device's topic. */
function isServiceReadableFilter(filter: string): boolean {
  if (filter === ALL_STATUS_TOPICS || filter === ALL_PRESENCE_TOPICS) return true;
  const parsed = parseDeviceTopic(filter);
  return parsed !== undefined && (parsed.kind === 'status' || parsed.kind === 'presence');
}

export function canSubscribe(identity: Identity, topicFilter: string): SubscribeDecision {
  if (identity.kind === 'device') {
    // A device reads its own directive topic and nothing else: no wildcards, no $SYS.
    return topicFilter === directiveTopic(identity.deviceId) ? { ok: true } : { ok: false };
  }
  const shared = parseSharedSubscription(topicFilter);
  if (shared) return isServiceReadableFilter(shared.filter) ? { ok: true, shared } : { ok: false };
  return isServiceReadableFilter(topicFilter) ? { ok: true } : { ok: false };
}

/** Re-checked on every delivery (authorizeForward): retained and restored-session messages too. */
export function canReceive(identity: Identity, topic: string): boolean {
  if (identity.kind === 'device') return topic === directiveTopic(identity.deviceId);
  const parsed = parseDeviceTopic(topic);
  return parsed !== undefined && (parsed.kind === 'status' || parsed.kind === 'presence');
}

function payloadIs(payload: Uint8Array, text: string): boolean {
  if (payload.length !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (payload[i] !== text.charCodeAt(i)) return false;
  return true;
}

export function canPublish(identity: Identity, request: PublishRequest, limits: AclLimits): PublishDecision {
  // aedes #597: a client publishing to $SYS/<id>/new/clients could kick other clients off.
  if (request.topic.startsWith(SYS_PREFIX)) return { ok: false, reason: 'sys_publish', action: 'disconnect' };
  const parsed = parseDeviceTopic(request.topic);
  if (identity.kind === 'device') {
    if (parsed === undefined || parsed.deviceId !== identity.deviceId || parsed.kind === 'directive') {
      return { ok: false, reason: 'publish_denied', action: 'drop' };
    }
    if (parsed.kind === 'status') {
      // docs/protocol.md#status-report: status report at most 4 KiB, not retained.
      if (request.payload.length > limits.maxStatusBytes) return { ok: false, reason: 'status_too_large', action: 'disconnect' };
      if (request.retain) return { ok: false, reason: 'retain_denied', action: 'drop' };
      return { ok: true };
    }
    // presence: retained `online` / `offline` only.
    if (!payloadIs(request.payload, PRESENCE_ONLINE) && !payloadIs(request.payload, PRESENCE_OFFLINE)) {
      return { ok: false, reason: 'presence_payload', action: 'drop' };
    }
    return { ok: true };
  }
  if (identity.role !== 'orchestrator' || parsed === undefined || parsed.kind !== 'directive') {
    return { ok: false, reason: 'publish_denied', action: 'drop' };
  }
  // docs/protocol.md#mqtt-topics: directive message at most 64 KiB; retained (an empty payload clears it).
  if (request.payload.length > limits.maxDirectiveBytes) return { ok: false, reason: 'directive_too_large', action: 'disconnect' };
  return { ok: true };
}

/** A device's last will: its own presence topic with `offline`, nothing else (aedes #211). */
export function canWill(deviceId: string, will: { topic: string; payload: Uint8Array }): boolean {
  return isDeviceId(deviceId) && will.topic === presenceTopic(deviceId) && payloadIs(will.payload, PRESENCE_OFFLINE);
}
