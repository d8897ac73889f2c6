// The broker's configuration: one typed object with safe defaults for every limit. Loading and
// validation live in load-broker-config.ts; this file holds only the shape and the defaults.
import { LIMITS } from '../../protocol/index.js';
import { DEFAULT_INTAKE_SHARDS } from '../../state/intake/index.js';

export type ServiceRole = 'orchestrator' | 'dashboard';

export interface ServiceAccount {
  username: string;
  /** Lowercase hex SHA-256 of the account's secret (the secret itself is never stored). */
  secretSha256: string;
  role: ServiceRole;
}

export interface BrokerLimits {
  /** Open sockets at once; further connections are closed on accept. */
  maxConnections: number;
  /** New connections per source address per second; 0 disables (e.g. behind a TCP load balancer). */
  connectsPerIpPerSec: number;
  /** Device publishes per client per second before throttling; 0 disables. */
  publishesPerClientPerSec: number;
  /** A throttled client whose backlog would wait longer than this is disconnected (publish_flood). */
  publishThrottleMaxDelayMs: number;
  /** Accepted CONNECTs per device client id per minute (burst of the same size); 0 disables. */
  reconnectsPerClientPerMin: number;
  /** Client ids whose publish and reconnect allowances are tracked (LRU; idle ones are dropped first). */
  clientLimitsMaxTracked: number;
  /** Longest connect-token lifetime (exp - iat) accepted, seconds (docs/protocol.md#device-connect-token: default 24 h). */
  maxTokenLifetimeS: number;
  /** Directive payload (docs/protocol.md#mqtt-topics: at most 64 KiB). */
  maxDirectiveBytes: number;
  /** Status report payload (docs/protocol.md#status-report: at most 4 KiB). */
  maxStatusBytes: number;
  /** Any packet before CONNECT is authenticated (a CONNECT carries a ~300-byte token). */
  maxPreAuthPacketBytes: number;
  /** Time a socket may take to send CONNECT (and, with TLS, to finish the handshake). */
  connectTimeoutMs: number;
  /** Device key cache: entries kept, and how long a lookup is trusted. */
  keyCacheMax: number;
  keyCacheTtlS: number;
  /** How long an unknown device id stays cached as unknown (reconnect storms of strangers). */
  keyCacheNegativeTtlS: number;
  /** A registry lookup slower than this refuses the CONNECT with "server unavailable". */
  registryTimeoutMs: number;
  /** Messages queued for a persistent session handed over when it resumes (the rest at its next resume). */
  sessionReplayMax: number;
  /**
   * Lease of a broker run on its wills (Redis persistence): renewed every third of it; once a run
   * has not renewed it for this long, the other nodes publish the wills of its connections.
   */
  nodeLeaseMs: number;
}

export interface BrokerConfig {
  host: string;
  port: number;
  redisUrl: string;
  keyPrefix: string;
  serviceAccounts: ServiceAccount[];
  limits: BrokerLimits;
  /** PEM file paths; absent means plain TCP. */
  tls?: { keyFile: string; certFile: string };
  /** `redis`: mqemitter-redis on redisUrl between nodes (persistence must be `redis`), so N nodes act as one. */
  cluster: 'none' | 'redis';
  /**
   * Where sessions, subscriptions, retained messages, wills and queued QoS 1 messages live.
   * `redis` (default, aedes-persistence-redis under `${keyPrefix}mqtt:`) survives a broker
   * restart; `memory` loses all of it with the process (tests, throwaway brokers).
   */
  persistence: 'redis' | 'memory';
  /**
   * How status reports reach the orchestrators (FLEET_INTAKE_MODE): `edge` (default) the broker
   * writes each report and presence change to its device's intake shard before the PUBACK;
   * `bridge` it does not, and orchestrators subscribe over MQTT instead (external brokers).
   */
  intakeMode: 'edge' | 'bridge';
  /** Intake shards (FLEET_INTAKE_SHARDS): the same value for every broker and orchestrator. */
  intakeShards: number;
  /** Aedes broker id (`$SYS` topics, logs); wills belong to each process run, whatever its id. */
  brokerId?: string;
  /** Plain HTTP server for GET /metrics and GET /healthz; absent means none. */
  metricsPort?: number;
  metricsHost?: string;
}

export const DEFAULT_LIMITS: BrokerLimits = {
  maxConnections: 20_000,
  connectsPerIpPerSec: 50,
  publishesPerClientPerSec: 10,
  publishThrottleMaxDelayMs: 5_000,
  // A device reconnects after each token expiry or network loss: 12 at once, then one per 5 s.
  reconnectsPerClientPerMin: 12,
  clientLimitsMaxTracked: 200_000,
  maxTokenLifetimeS: LIMITS.connectTokenMaxLifetimeSeconds,
  maxDirectiveBytes: LIMITS.directiveMessageBytes,
  maxStatusBytes: LIMITS.statusReportBytes,
  maxPreAuthPacketBytes: 8 * 1024,
  connectTimeoutMs: 10_000,
  keyCacheMax: 100_000,
  keyCacheTtlS: 60,
  keyCacheNegativeTtlS: 5,
  registryTimeoutMs: 2_000,
  // aedes-persistence-redis defaults to 1,000: too few for the orchestrator's intake session
  // after an outage of a large fleet (reports beyond it would wait for the next reconnect).
  sessionReplayMax: 100_000,
  // A dead node's devices that did not reconnect elsewhere are `offline` within this plus half of it.
  nodeLeaseMs: 15_000,
};

export const DEFAULT_CONFIG: BrokerConfig = {
  host: '127.0.0.1',
  // Mosquitto holds 1883 on the development machines.
  port: 1884,
  redisUrl: 'redis://127.0.0.1:6379',
  keyPrefix: 'fleet:',
  serviceAccounts: [],
  limits: DEFAULT_LIMITS,
  cluster: 'none',
  persistence: 'redis',
  intakeMode: 'edge',
  intakeShards: DEFAULT_INTAKE_SHARDS,
};

/** A config for embedding (tests, demo): defaults plus overrides, limits merged field by field. */
export function brokerConfig(overrides: Partial<Omit<BrokerConfig, 'limits'>> & { limits?: Partial<BrokerLimits> } = {}): BrokerConfig {
  return { ...DEFAULT_CONFIG, ...overrides, limits: { ...DEFAULT_LIMITS, ...overrides.limits } };
}
