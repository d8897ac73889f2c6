// Prometheus metrics of one broker, in their own registry (never the global one, so several
// brokers can run in one process). Labels are bounded: a reason code, never a device id.
import { createRequire } from 'node:module';
import { Counter, Gauge, Registry } from 'prom-client';
import { REFUSAL_REASONS, type RefusalReason } from '../refusals.js';

export interface BrokerMetrics {
  registry: Registry;
  refusals: Counter<'reason'>;
  connects: Counter;
  messagesIn: Counter;
  messagesOut: Counter;
  bytesIn: Counter;
  bytesOut: Counter;
}

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function createBrokerMetrics(connectedClients: () => number, openSockets: () => number): BrokerMetrics {
  const registry = new Registry();
  new Gauge({
    name: 'fleet_build_info',
    help: 'Always 1: the running build (package version, Node.js version).',
    labelNames: ['component', 'version', 'node_version'] as const,
    registers: [registry],
  }).set({ component: 'broker', version: packageVersion(), node_version: process.version }, 1);
  new Gauge({
    name: 'fleet_broker_connections',
    help: 'Authenticated MQTT clients connected to this broker node.',
    registers: [registry],
    collect() {
      this.set(connectedClients());
    },
  });
  new Gauge({
    name: 'fleet_broker_sockets',
    help: 'Open sockets on this broker node, authenticated or not.',
    registers: [registry],
    collect() {
      this.set(openSockets());
    },
  });
  const refusals = new Counter({
    name: 'fleet_broker_refusals_total',
    help: 'Refused connections, packets, subscriptions and publishes, by reason.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // Every reason is exported from the start (at 0) so rate() queries see the series.
  for (const reason of REFUSAL_REASONS) refusals.inc({ reason }, 0);
  return {
    registry,
    refusals,
    connects: new Counter({ name: 'fleet_broker_connects_total', help: 'Successful MQTT connects (CONNACK accepted).', registers: [registry] }),
    messagesIn: new Counter({ name: 'fleet_broker_messages_in_total', help: 'PUBLISH packets received from clients.', registers: [registry] }),
    messagesOut: new Counter({ name: 'fleet_broker_messages_out_total', help: 'Messages delivered to subscribers.', registers: [registry] }),
    bytesIn: new Counter({ name: 'fleet_broker_bytes_in_total', help: 'Bytes received on MQTT sockets.', registers: [registry] }),
    bytesOut: new Counter({ name: 'fleet_broker_bytes_out_total', help: 'Bytes sent on MQTT sockets.', registers: [registry] }),
  };
}

export type { RefusalReason };
