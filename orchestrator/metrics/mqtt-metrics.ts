// Counters of this process's MQTT service connections: directives published (PUBLISH packets
// leaving, MQTT.js `packetsend`; a DUP retransmission is the same directive, [MQTT-3.3.1-1]);
// and status reports this process read from the intake shards (`statusRead`, called by
// ingestion), by the state they claim. Verification outcomes are fleet_ingest_outcomes_total.
// Per process: sum() both across processes (each directive is published once, each report
// read by the one member holding its shard; a report taken over from a dead member counts twice).
import type { MqttClient } from 'mqtt';
import { Counter, type Registry } from 'prom-client';
import { parseDeviceTopic, REPORTED_STATES } from '../../protocol/index.js';

/** docs/protocol.md#status-report: a status report is at most 4 KiB; a longer one is not parsed for its state. */
const MAX_STATUS_BYTES = 4_096;
const STATES: ReadonlySet<string> = new Set(REPORTED_STATES);

export interface MqttMetrics {
  /** Counts directives sent by this client; returns a function that stops. */
  observe(client: MqttClient): () => void;
  /** Counts a status report read from the intake, by the state it claims. */
  statusRead(payload: Uint8Array): void;
}

/** The `state` a report claims, or `invalid` (bounded label values whatever arrives). */
export function claimedState(payload: unknown): string {
  if (!(payload instanceof Uint8Array) || payload.byteLength > MAX_STATUS_BYTES) return 'invalid';
  try {
    const state = (JSON.parse(Buffer.from(payload).toString('utf8')) as { signed?: { state?: unknown } }).signed?.state;
    return typeof state === 'string' && STATES.has(state) ? state : 'invalid';
  } catch {
    return 'invalid';
  }
}

export function registerMqttMetrics(registry: Registry): MqttMetrics {
  const directives = new Counter({
    name: 'fleet_directives_published_total',
    help: 'Directive messages (install or cancel) published to devices by this process.',
    registers: [registry],
  });
  const reports = new Counter({
    name: 'fleet_status_reports_total',
    help: 'Status reports this process read from the intake, by the state they claim (invalid: unreadable); verification outcomes are fleet_ingest_outcomes_total.',
    labelNames: ['state'] as const,
    registers: [registry],
  });
  for (const state of [...REPORTED_STATES, 'invalid']) reports.inc({ state }, 0);
  return {
    observe(client) {
      const onSend = (packet: { cmd?: string; topic?: unknown; dup?: boolean }) => {
        if (packet.cmd !== 'publish' || packet.dup || typeof packet.topic !== 'string') return;
        if (parseDeviceTopic(packet.topic)?.kind === 'directive') directives.inc();
      };
      client.on('packetsend', onSend);
      return () => client.off('packetsend', onSend);
    },
    statusRead(payload) {
      reports.inc({ state: claimedState(payload) });
    },
  };
}
