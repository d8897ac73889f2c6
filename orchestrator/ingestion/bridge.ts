// The deployment's one MQTT intake bridge (FLEET_INTAKE_MODE=bridge, for an external broker such
// as Mosquitto that cannot write the intake shards itself). Every orchestrator in bridge mode
// competes for one lease in Redis; the holder connects one persistent session whose client id is
// the deployment's (derived from the key prefix, not from the process), subscribes when the
// broker has no session for it, and writes what it receives into the shards before each PUBACK.
// One session for the deployment: whoever holds the lease resumes it, so the broker never keeps
// queueing for an orchestrator that is gone, each report is written once, and in the order the
// broker delivered it. The subscription (and the broker's replay of every retained presence
// message that comes with it) happens only when the session is new, not at every start.
import { randomBytes } from 'node:crypto';
import type { RedisClient as Redis } from '../../state/redis.js';
import type { MqttClient } from 'mqtt';
import type { Logger } from '../../runtime/logger.js';
import { IntakeWriter, holdLease, intakeBridgeLeaseKey, releaseLease, type IntakeLayout, type IntakeReadinessSink, type IntakeWriterOptions } from '../../state/intake/index.js';
import { connectService, type ServiceCredentials } from '../mqtt/service-client.js';
import { installIntakeHandler, subscribeIntake } from './intake.js';

export interface BridgeOptions {
  /** Lease renewal period; the lease lasts leaseMs, so a dead holder is replaced within about that. */
  heartbeatMs: number;
  leaseMs: number;
}

export interface BridgeDeps {
  /** A connection for the writer and the lease (its batches never queue behind applies). */
  redis: Redis;
  layout: IntakeLayout;
  broker: ServiceCredentials;
  logger: Logger;
  readiness?: IntakeReadinessSink;
  writer?: Partial<IntakeWriterOptions>;
  options: BridgeOptions;
  /** The broker had no session for the bridge (new, or the broker lost its memory). */
  onSessionLost(): void;
  /** Each MQTT connection the bridge makes (metrics). */
  onClient?(client: MqttClient): void;
}

export interface RunningBridge {
  writer: IntakeWriter;
  /** True while this process holds the bridge. */
  readonly active: boolean;
  stop(): Promise<void>;
}

export function startBridge(deps: BridgeDeps): RunningBridge {
  const { redis, layout, logger, options } = deps;
  const writer = new IntakeWriter(redis, layout, logger, deps.readiness, deps.writer);
  const member = `b-${randomBytes(6).toString('hex')}`;
  const leaseKey = intakeBridgeLeaseKey(layout.prefix);
  let client: MqttClient | undefined;
  let stopped = false;
  let busy: Promise<void> | undefined;

  const connect = async () => {
    const install = (c: MqttClient) => {
      installIntakeHandler(c, writer);
      c.on('connect', (connack) => {
        if (connack.sessionPresent) return;
        deps.onSessionLost();
        subscribeIntake(c, false).catch((error: Error) => logger.warn({ err: error.message }, 'intake bridge subscribe failed'));
      });
    };
    client = await connectService(deps.broker, 'intake', `${layout.prefix}bridge`, install);
    deps.onClient?.(client);
    logger.info({ member }, 'intake bridge: this orchestrator holds the bridge');
  };
  const disconnect = async () => {
    const current = client;
    client = undefined;
    await current?.endAsync().catch(() => undefined);
  };
  const tick = () => {
    busy ??= (async () => {
      try {
        const held = !stopped && (await holdLease(redis, leaseKey, member, options.leaseMs));
        if (held && !client) await connect();
        if (!held && client) {
          logger.warn({ member }, 'intake bridge: lease lost; disconnecting');
          await disconnect();
        }
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'intake bridge: lease or connect failed');
      } finally {
        busy = undefined;
      }
    })();
    return busy;
  };
  void tick();
  const timer = setInterval(() => void tick(), options.heartbeatMs);
  return {
    writer,
    get active() {
      return client !== undefined;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await busy;
      // What is written gets its PUBACK first; the rest the broker keeps for the next holder.
      await writer.close();
      await disconnect();
      await releaseLease(redis, leaseKey, member).catch(() => undefined);
    },
  };
}
