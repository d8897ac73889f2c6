// Refusal reason codes of the broker: every refused connection, packet, subscription or
// publish is counted under exactly one of these (metrics label, ops events). Stable strings.

export const REFUSAL_REASONS = [
  // socket level, before MQTT
  'max_connections',
  'connect_rate',
  'packet_too_large',
  'malformed_packet',
  // CONNECT
  'bad_credentials',
  'bad_client_id',
  'client_id_mismatch',
  'client_id_taken',
  'unknown_device',
  'revoked',
  'bad_public_key',
  'registry_unavailable',
  'token_malformed',
  'token_alg',
  'token_signature',
  'token_expired',
  'token_not_yet_valid',
  'token_audience',
  'token_subject',
  'token_lifetime',
  'token_claims',
  'will_denied',
  'reconnect_rate',
  // after CONNECT
  'session_expired',
  'subscribe_denied',
  'publish_denied',
  'retain_denied',
  'presence_payload',
  'sys_publish',
  'status_too_large',
  'directive_too_large',
  'publish_rate',
  'publish_flood',
  'forward_denied',
] as const;

export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** Token verification failures, a subset of the refusal reasons. */
export type TokenRefusal = Extract<RefusalReason, `token_${string}` | 'bad_public_key'>;

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
export const CONNACK = {
  accepted: 0,
  unacceptableProtocol: 1,
  identifierRejected: 2,
  serverUnavailable: 3,
  badUsernameOrPassword: 4,
  notAuthorized: 5,
} as const;

export type ConnackCode = (typeof CONNACK)[keyof typeof CONNACK];
