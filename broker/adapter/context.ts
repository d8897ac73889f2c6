// What the Aedes hooks share: the broker's config, identities of live connections, counters and
// the key cache. Also the few Aedes 1.2.0 internals the adapter relies on, typed in one place.
import type { Aedes, Client } from 'aedes';
import type { Logger } from 'pino';
import type { Identity } from '../acl.js';
import type { DeviceKeyCache } from '../../state/registry/index.js';
import type { DeviceVerifyKey } from '../auth/verify-connect-token.js';
import type { BrokerConfig, ServiceAccount } from '../config/broker-config.js';
import type { GuardedConnection } from '../net/guarded-connection.js';
import type { BrokerMetrics } from '../observability/metrics.js';
import type { RefusalReason } from '../refusals.js';
import type { IntakeWriter } from '../../state/intake/index.js';

/** Aedes 1.2.0 members used here that its typings leave out (read in node_modules/aedes/lib). */
export interface AedesInternals {
  /** Live clients by client id (aedes.js: `this.clients`). */
  clients: Record<string, Client | undefined>;
}

export interface ClientInternals {
  conn: GuardedConnection;
  /** Clean-session flag from CONNECT; Client#close acts on it. */
  clean: boolean;
  closed: boolean;
  connected: boolean;
  /** Delivery functions Aedes subscribes with (lib/client.js); used by shared subscriptions. */
  deliver0(packet: DeliverablePacket, done: () => void): void;
  deliverQoS(packet: DeliverablePacket, done: () => void): void;
}

export interface DeliverablePacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
  dup: boolean;
  brokerId?: string;
  brokerCounter?: number;
}

export interface Session {
  identity: Identity;
  connection: GuardedConnection;
  /** A newer connection of the same identity took over: this one's will is stale. */
  superseded: boolean;
  /** `offline` was published for this connection (its will, or the broker on a clean DISCONNECT). */
  offlineSaid: boolean;
}

export interface AdapterContext {
  aedes: Aedes;
  config: BrokerConfig;
  logger: Logger;
  metrics: BrokerMetrics;
  keyCache: DeviceKeyCache<DeviceVerifyKey>;
  serviceAccounts: ReadonlyMap<string, ServiceAccount>;
  sessions: WeakMap<Client, Session>;
  /** Latest authenticated connection per client id on this node. */
  latest: Map<string, Client>;
  record(reason: RefusalReason): void;
  /** Wall-clock milliseconds (injectable for token time). */
  now(): number;
  /** Set while closing: wills are replaced by the broker's own `offline`. */
  shuttingDown: boolean;
  /** The edge writer of the intake shards (FLEET_INTAKE_MODE=edge); absent in bridge mode. */
  intake?: IntakeWriter;
}

export function internals(client: Client): ClientInternals {
  return client as unknown as ClientInternals;
}

export function liveClients(aedes: Aedes): AedesInternals['clients'] {
  return (aedes as unknown as AedesInternals).clients;
}

/** Marks a publish that was acknowledged but must not be delivered ([MQTT-3.3.5-2]). */
export const DROPPED = Symbol('fleet.dropped');

export function markDropped(packet: object): void {
  (packet as { [DROPPED]?: boolean })[DROPPED] = true;
}

export function isDropped(packet: object): boolean {
  return (packet as { [DROPPED]?: boolean })[DROPPED] === true;
}
