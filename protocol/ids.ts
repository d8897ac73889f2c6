// Identifier syntax (docs/protocol.md#basics) and topic names (docs/protocol.md#mqtt-topics).
// Every topic string is built and parsed here and nowhere else.

export const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const NAME_ID = /^[A-Za-z0-9._-]{1,64}$/;
export const HEX_SHA256 = /^[0-9a-f]{64}$/;

export function isDeviceId(value: unknown): value is string {
  return typeof value === 'string' && DEVICE_ID.test(value);
}

export function isNameId(value: unknown): value is string {
  return typeof value === 'string' && NAME_ID.test(value);
}

export const TOPIC_ROOT = 'fleet/v1';
export type DeviceTopicKind = 'directive' | 'status' | 'presence';

export function directiveTopic(deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/directive`;
}
export function statusTopic(deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/status`;
}
export function presenceTopic(deviceId: string): string {
  return `${TOPIC_ROOT}/${deviceId}/presence`;
}

/** Wildcard subscriptions for services (never granted to devices). */
export const ALL_STATUS_TOPICS = `${TOPIC_ROOT}/+/status`;
export const ALL_PRESENCE_TOPICS = `${TOPIC_ROOT}/+/presence`;
export const ALL_DIRECTIVE_TOPICS = `${TOPIC_ROOT}/+/directive`;

/** Splits a concrete device topic; undefined for anything else (wildcards included). */
export function parseDeviceTopic(topic: string): { deviceId: string; kind: DeviceTopicKind } | undefined {
  const parts = topic.split('/');
  if (parts.length !== 4 || parts[0] !== 'fleet' || parts[1] !== 'v1') return undefined;
  const deviceId = parts[2]!;
  const kind = parts[3];
  if (!isDeviceId(deviceId)) return undefined;
  if (kind !== 'directive' && kind !== 'status' && kind !== 'presence') return undefined;
  return { deviceId, kind };
}

export const PRESENCE_ONLINE = 'online';
export const PRESENCE_OFFLINE = 'offline';
