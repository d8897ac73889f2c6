// The MQTT broker (issue 4): Aedes with device authentication, per-topic ACL, limits, presence,
// optional TLS and Redis clustering. Re-exports only.
export { startBroker, type BrokerDeps, type RunningBroker } from './start-broker.js';
export { loadBrokerConfig, BROKER_ENV } from './config/load-broker-config.js';
export { brokerConfig, DEFAULT_CONFIG, DEFAULT_LIMITS, type BrokerConfig, type BrokerLimits, type ServiceAccount, type ServiceRole } from './config/broker-config.js';
export { RefusalError } from './errors.js';
export { ConfigError, StartupError } from '../runtime/errors.js';
export { REFUSAL_REASONS, CONNACK, type RefusalReason, type ConnackCode } from './refusals.js';
export { canPublish, canReceive, canSubscribe, canWill, parseSharedSubscription, type Identity, type PublishDecision } from './acl.js';
export { verifyConnectToken, importDevicePublicKey, MAX_TOKEN_CHARS, type VerifyConnectTokenInput, type VerifyConnectTokenResult } from './auth/verify-connect-token.js';
export { generateServiceSecret, hashServiceSecret } from './auth/service-accounts.js';
export { REFUSAL_EVENTS_INTERVAL_MS } from './observability/refusal-recorder.js';
