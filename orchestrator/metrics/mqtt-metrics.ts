// Counters of this process's MQTT service connections: directives published (PUBLISH packets
// leaving, MQTT.js `packetsend`; a DUP retransmission is the same directive, [MQTT-3.3.1-1])
// and status reports received (`packetreceive`), by the state they claim. Verification
// outcomes are fleet_ingest_outcomes_total. Per process: each orchestrator counts what passes
// through its own connections. Directives are published once: sum() them across processes.
// Reports: sum() when the intake shares one subscription across processes (each report reaches
// one of them), max() when every process holds its own intake session (each receives all).
import type { MqttClient } from 'mqtt';
import { Counter, type Registry } from 'prom-client';
import { parseDeviceTopic, REPORTED_STATES } from '../../protocol/index.js';

/** docs/protocol.md#status-report: a status report is at most 4 KiB; a longer one is not parsed for its state. */
const MAX_STATUS_BYTES = 4_096;
const STATES: ReadonlySet<string> = new Set(REPORTED_STATES);

export interface MqttMetrics {
  /** Counts directives sent and status reports received by this client; returns a function that stops. */
  observe(client: MqttClient): () => void;
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
    help: 'Status reports received by this process, by the state they claim (invalid: unreadable); verification outcomes are fleet_ingest_outcomes_total.',
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
      const onReceive = (packet: { cmd?: string; topic?: unknown; dup?: boolean; payload?: unknown }) => {
        if (packet.cmd !== 'publish' || typeof packet.topic !== 'string') return;
        if (parseDeviceTopic(packet.topic)?.kind === 'status') reports.inc({ state: claimedState(packet.payload) });
      };
      client.on('packetsend', onSend);
      client.on('packetreceive', onReceive);
      return () => {
        client.off('packetsend', onSend);
        client.off('packetreceive', onReceive);
      };
    },
  };
}
