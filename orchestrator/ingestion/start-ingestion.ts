// Status ingestion as one unit with a small interface for the composition root: the member of
// the ingestion group that applies reports from the intake shards (consumer.ts) and, in bridge
// mode, the deployment's MQTT intake bridge (bridge.ts). What applied reports mean to the rest
// of the orchestrator (ticks, reconciliation, metrics) comes in through `sinks`.
import { duplicateRedis, type RedisClient as Redis } from '../../state/redis.js';
import type { MqttClient } from 'mqtt';
import type { StatusSigned } from '../../protocol/index.js';
import type { Logger } from '../../runtime/logger.js';
import { ensureIntakeLayout, type IntakeReadinessSink, type IntakeWriter, type IntakeWriterOptions } from '../../state/intake/index.js';
import type { IntakeMode } from '../config.js';
import type { EventLog } from '../events/event-log.js';
import type { ServiceCredentials } from '../mqtt/service-client.js';
import { startBridge, type RunningBridge } from './bridge.js';
import { DEFAULT_INGEST_OPTIONS, StatusConsumer, type IngestOptions, type IngestStats } from './consumer.js';

export interface IngestionSinks {
  /** After each applied batch, with the rollouts it touched. */
  onApplied?(rolloutIds: Set<string>): void;
  /** Devices whose presence `online` a batch applied. */
  onOnline?(deviceIds: Set<string>): void;
  /** A device reported its current directive expired (`rejected: directive_expired`). */
  onExpired?(report: { deviceId: string; rolloutId: string; counter: number }): void;
  /** Each report applied (once), with its wave. */
  onReportApplied?(report: StatusSigned, wave: number): void;
  /** Each status report read from the intake, before verification. */
  onReportRead?(payload: Buffer): void;
  /** Bridge mode: the broker had no session for the bridge (it may have lost its memory). */
  onSessionLost?(): void;
}

export interface IngestionDeps {
  /** Applies and acknowledgements; duplicated for reads, heartbeats and the bridge's writes. */
  redis: Redis;
  prefix: string;
  events: EventLog;
  logger: Logger;
  mode: IntakeMode;
  shards: number;
  /** Bridge mode only: the broker and service account the bridge subscribes with. */
  broker?: ServiceCredentials;
  readiness?: IntakeReadinessSink;
  options?: Partial<IngestOptions>;
  writer?: Partial<IntakeWriterOptions>;
  sinks?: IngestionSinks;
  /** Each MQTT connection and intake writer made (metrics). */
  observe?: { mqtt?(client: MqttClient): void; intake?(writer: IntakeWriter): void };
}

export interface RunningIngestion {
  consumer: StatusConsumer;
  readonly stats: IngestStats;
  /** Bridge mode: the bridge (writing only while this process holds its lease). */
  bridge?: RunningBridge;
  /** Stops the bridge first (what it wrote is acknowledged), then the consumer (its batch finishes, its shards go back). */
  stop(): Promise<void>;
}

export async function startIngestion(deps: IngestionDeps): Promise<RunningIngestion> {
  const { redis, prefix, logger, sinks = {} } = deps;
  const options = { ...DEFAULT_INGEST_OPTIONS, ...deps.options, shards: deps.shards };
  const layout = await ensureIntakeLayout(redis, prefix, options.shards);
  const reader = duplicateRedis(redis);
  const consumer = new StatusConsumer(redis, reader, prefix, deps.events, logger, options);
  if (sinks.onApplied) consumer.onApplied = (ids) => sinks.onApplied!(ids);
  if (sinks.onOnline) consumer.onOnline = (ids) => sinks.onOnline!(ids);
  if (sinks.onExpired) consumer.onExpired = (report) => sinks.onExpired!(report);
  if (sinks.onReportApplied) consumer.onReportApplied = (report, wave) => sinks.onReportApplied!(report, wave);
  if (sinks.onReportRead) consumer.onReportRead = (payload) => sinks.onReportRead!(payload);
  await consumer.start();
  let bridge: RunningBridge | undefined;
  let bridgeRedis: Redis | undefined;
  if (deps.mode === 'bridge') {
    if (!deps.broker) throw new Error('FLEET_INTAKE_MODE=bridge needs the broker URL and service account');
    bridgeRedis = duplicateRedis(redis);
    bridge = startBridge({
      redis: bridgeRedis,
      layout,
      broker: deps.broker,
      logger,
      ...(deps.readiness ? { readiness: deps.readiness } : {}),
      ...(deps.writer ? { writer: deps.writer } : {}),
      options: { heartbeatMs: options.heartbeatMs, leaseMs: options.leaseMs },
      onSessionLost: () => sinks.onSessionLost?.(),
      ...(deps.observe?.mqtt ? { onClient: deps.observe.mqtt } : {}),
    });
    deps.observe?.intake?.(bridge.writer);
  }
  return {
    consumer,
    get stats() {
      return consumer.stats;
    },
    ...(bridge ? { bridge } : {}),
    async stop() {
      await bridge?.stop();
      bridgeRedis?.disconnect();
      await consumer.stop();
      reader.disconnect();
    },
  };
}
