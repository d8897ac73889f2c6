// Status ingestion as one unit with a small interface for the composition root: the member of
// the ingestion group that applies reports from the intake shards (consumer.ts) and, in bridge
// mode, the deployment's MQTT intake bridge (bridge.ts). What applied reports mean to the rest
// of the orchestrator is said through two typed interfaces, implemented by the rollout engine
// (RolloutEvaluator) and the directive reconciler (DirectiveRepair), plus metrics observers.
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

/** Ingestion → rollout engine (RolloutEngine implements it). */
export interface RolloutEvaluator {
  /** After each applied batch, with the rollouts it touched: one of them may have settled a wave. */
  reportsApplied(rolloutIds: ReadonlySet<string>): void;
}

/** Ingestion → directive reconciler (DirectiveReconciler implements it). */
export interface DirectiveRepair {
  /** Devices whose presence `online` a batch applied: their directive is checked. */
  devicesOnline(deviceIds: Iterable<string>): void;
  /** A device reported its current directive expired (`rejected: directive_expired`): reissue it. */
  directiveExpired(deviceId: string, rolloutId: string, counter: number): void;
  /** Republish every unsettled directive (bridge mode: the broker lost the bridge's session, and may have lost its memory). */
  requestSweep(why: string): void;
}

/** Counters only: nothing here changes what ingestion does. */
export interface IngestionObservers {
  /** Each MQTT connection made (the bridge's). */
  mqtt?(client: MqttClient): void;
  /** Each intake writer made (the bridge's). */
  intake?(writer: IntakeWriter): void;
  /** Each report applied (once), with its wave. */
  reportApplied?(report: StatusSigned, wave: number): void;
  /** Each status report read from the intake, before verification. */
  reportRead?(payload: Buffer): void;
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
  evaluator: RolloutEvaluator;
  reconciler: DirectiveRepair;
  observe?: IngestionObservers;
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
  const { redis, prefix, logger, evaluator, reconciler, observe = {} } = deps;
  const options = { ...DEFAULT_INGEST_OPTIONS, ...deps.options, shards: deps.shards };
  const layout = await ensureIntakeLayout(redis, prefix, options.shards);
  const reader = duplicateRedis(redis);
  const consumer = new StatusConsumer(redis, reader, prefix, deps.events, logger, options);
  consumer.onApplied = (ids) => evaluator.reportsApplied(ids);
  consumer.onOnline = (ids) => reconciler.devicesOnline(ids);
  consumer.onExpired = ({ deviceId, rolloutId, counter }) => reconciler.directiveExpired(deviceId, rolloutId, counter);
  if (observe.reportApplied) consumer.onReportApplied = (report, wave) => observe.reportApplied!(report, wave);
  if (observe.reportRead) consumer.onReportRead = (payload) => observe.reportRead!(payload);
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
      // The broker had no session for the bridge: it may have lost its memory (retained directives).
      onSessionLost: () => reconciler.requestSweep('intake session lost'),
      ...(observe.mqtt ? { onClient: observe.mqtt } : {}),
    });
    observe.intake?.(bridge.writer);
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
