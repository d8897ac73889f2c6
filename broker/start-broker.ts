// Starts one broker node: Aedes with the fleet hooks, the guarded listener, metrics, refusal
// events and revocation. Embeddable (tests, demo) and the body of `fleet-ota broker`.
// Configuration is taken as given: load and validate it with loadBrokerConfig or brokerConfig.
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Aedes, type Client } from 'aedes';
import type { RedisClient as Redis } from '../state/redis.js';
import type { Registry } from 'prom-client';
import { StartupError } from '../runtime/errors.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { timeLimit } from '../runtime/time-limit.js';
import { isDeviceId } from '../protocol/index.js';
import { brokerEventsChannel } from '../state/logs/index.js';
import { DeviceKeyCache } from '../state/registry/index.js';
import { createRedis, duplicateRedis } from '../state/redis.js';
import { ensureIntakeLayout, IntakeWriter } from '../state/intake/index.js';
import { installEdgePresence } from './adapter/edge-intake.js';
import { createConnectHooks } from './adapter/connect-hooks.js';
import { liveClients, type AdapterContext } from './adapter/context.js';
import { publishPresence } from './adapter/presence.js';
import { indexRetainedLookups } from './adapter/retained-index.js';
import { createPublishHooks, installDropFilter } from './adapter/publish-hooks.js';
import { listenForRevocations } from './adapter/revocation.js';
import { SharedSubscriptions } from './adapter/shared-subscriptions.js';
import { createSubscribeHooks } from './adapter/subscribe-hooks.js';
import { serviceAccountIndex } from './auth/service-accounts.js';
import { importDevicePublicKey, type DeviceVerifyKey } from './auth/verify-connect-token.js';
import type { BrokerConfig } from './config/broker-config.js';
import { createRedisEmitter } from './cluster/redis-cluster.js';
import { createRedisPersistence, mqttNamespace } from './persistence/redis-persistence.js';
import { NodeWills, type WillPublisher } from './persistence/node-wills.js';
import { startListener } from './net/listener.js';
import { createBrokerMetrics } from './observability/metrics.js';
import { startMetricsServer, type RunningMetricsServer } from './observability/metrics-server.js';
import { RefusalRecorder } from './observability/refusal-recorder.js';

export interface BrokerDeps {
  /** Used for registry reads and events (and duplicated for the revocation subscriber); not closed by close(). */
  redis?: Redis;
  logger?: Logger;
  /** Wall-clock milliseconds: token verification and event times. */
  now?: () => number;
}

export interface RunningBroker {
  port: number;
  host: string;
  /** mqtt://host:port (mqtts:// with TLS). */
  url: string;
  metrics: Registry;
  /** Refusals since start, by reason. */
  refusals(): Record<string, number>;
  /** Port of the /metrics and /healthz server, when configured. */
  metricsPort?: number;
  close(): Promise<void>;
}

/** Time allowed at close for the broker's own `offline` presence messages. */
const SHUTDOWN_PRESENCE_TIMEOUT_MS = 5_000;
const REDIS_START_TIMEOUT_MS = 5_000;
/** Wills read per HSCAN page by a sweep (persistence/node-wills.ts). */
const WILL_SWEEP_PAGE = 500;


function urlOf(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

async function ping(redis: Redis, url: string): Promise<void> {
  try {
    await timeLimit(redis.ping(), REDIS_START_TIMEOUT_MS, () => {
      throw new Error('timed out');
    });
  } catch (error) {
    throw new StartupError('broker_start', `Redis at ${new URL(url).host} is not reachable: ${(error as Error).message}`);
  }
}

export async function startBroker(config: BrokerConfig, deps: BrokerDeps = {}): Promise<RunningBroker> {
  const logger = deps.logger ?? createLogger('broker');
  const now = deps.now ?? Date.now;
  const ownsRedis = deps.redis === undefined;
  const redis = deps.redis ?? createRedis(config.redisUrl);
  try {
    await ping(redis, config.redisUrl);
  } catch (error) {
    if (ownsRedis) redis.disconnect();
    throw error;
  }
  // The edge write (FLEET_INTAKE_MODE=edge): on a connection of its own, so its batches never
  // queue behind registry reads. The shard count is checked against the deployment's first.
  let intakeRedis: Redis | undefined;
  let intake: IntakeWriter | undefined;
  if (config.intakeMode === 'edge') {
    try {
      const layout = await ensureIntakeLayout(redis, config.keyPrefix, config.intakeShards);
      intakeRedis = duplicateRedis(redis);
      intake = new IntakeWriter(intakeRedis, layout, logger);
    } catch (error) {
      if (ownsRedis) redis.disconnect();
      throw new StartupError('broker_start', (error as Error).message);
    }
  }
  const tls = config.tls ? { key: readFileSync(config.tls.keyFile), cert: readFileSync(config.tls.certFile) } : undefined;
  const { limits } = config;

  if (config.cluster === 'redis' && config.persistence !== 'redis') {
    intakeRedis?.disconnect();
    if (ownsRedis) redis.disconnect();
    throw new StartupError('broker_start', 'a clustered broker needs persistence "redis": the nodes share sessions through it');
  }
  const stored =
    config.persistence === 'redis'
      ? createRedisPersistence(config.redisUrl, config.keyPrefix, {
          maxSessionDelivery: limits.sessionReplayMax,
          onError: (error) => logger.warn({ err: error.message }, 'broker persistence: redis error'),
        })
      : undefined;
  // Wills per process run, swept by lease (persistence/node-wills.ts), on a connection of their own.
  const willsRedis = stored ? duplicateRedis(redis, { maxRetriesPerRequest: null }) : undefined;
  const wills = willsRedis
    ? new NodeWills(willsRedis, mqttNamespace(config.keyPrefix), {
        leaseMs: limits.nodeLeaseMs,
        sweepPageSize: WILL_SWEEP_PAGE,
        onError: (error) => logger.warn({ err: error.message }, 'broker wills: redis error'),
      })
    : undefined;
  if (stored && wills) {
    wills.install(stored.persistence);
    await wills.start();
  }
  const aedes = new Aedes({
    ...(config.brokerId ? { id: config.brokerId } : {}),
    ...(config.cluster === 'redis' ? { mq: createRedisEmitter(config.redisUrl, config.keyPrefix) } : {}),
    ...(stored ? { persistence: stored.persistence } : {}),
    connectTimeout: limits.connectTimeoutMs,
  });
  // Listener sockets are counted before the metrics exist; the listener is assigned below.
  let openSockets = () => 0;
  const metrics = createBrokerMetrics(() => aedes.connectedClients ?? 0, () => openSockets());
  const recorder = new RefusalRecorder({
    metrics,
    publisher: redis,
    channel: brokerEventsChannel(config.keyPrefix),
    brokerId: aedes.id,
    now,
    onFlush: (counts) => logger.info({ refusals: counts }, 'refusals'),
  });
  const context: AdapterContext = {
    aedes,
    config,
    logger,
    metrics,
    // Revocations: adapter/revocation.ts listens on a connection of its own (it also closes the
    // revoked device's live connection), so the cache opens none.
    keyCache: new DeviceKeyCache<DeviceVerifyKey>(redis, config.keyPrefix, {
      importKey: importDevicePublicKey,
      maxEntries: limits.keyCacheMax,
      ttlMs: limits.keyCacheTtlS * 1000,
      negativeTtlMs: limits.keyCacheNegativeTtlS * 1000,
      timeoutMs: limits.registryTimeoutMs,
      revocations: 'none',
    }),
    serviceAccounts: serviceAccountIndex(config.serviceAccounts),
    sessions: new WeakMap(),
    latest: new Map(),
    record: (reason) => recorder.record(reason),
    now,
    shuttingDown: false,
    ...(intake ? { intake } : {}),
  };

  // Clustered takeover: when another node registers a client id this node holds, Aedes closes
  // ours. Registered before Aedes' own handler (listen() adds it) so the will is marked stale
  // first: the device is online elsewhere and must not be reported `offline`.
  const mq = (aedes as unknown as { mq: { on(topic: string, fn: (packet: { topic: string; payload: Buffer }, done: () => void) => void): void } }).mq;
  mq.on('$SYS/+/new/clients', (packet, done) => {
    const nodeId = packet.topic.split('/')[1];
    const client = nodeId !== aedes.id ? liveClients(aedes)[packet.payload.toString()] : undefined;
    const session = client ? context.sessions.get(client) : undefined;
    if (session) session.superseded = true;
    done();
  });

  installDropFilter(aedes);
  if (intake) installEdgePresence(aedes, intake);
  const shared = new SharedSubscriptions(aedes);
  const connectHooks = createConnectHooks(context);
  const publishHooks = createPublishHooks(context);
  const subscribeHooks = createSubscribeHooks(context, shared);
  aedes.preConnect = connectHooks.preConnect;
  aedes.authenticate = connectHooks.authenticate;
  aedes.authorizePublish = publishHooks.authorizePublish;
  aedes.authorizeSubscribe = subscribeHooks.authorizeSubscribe;
  aedes.authorizeForward = subscribeHooks.authorizeForward;
  aedes.on('clientReady', connectHooks.onClientReady);
  aedes.on('unsubscribe', subscribeHooks.onUnsubscribe);
  aedes.on('clientDisconnect', (client: Client) => shared.removeClient(client));
  aedes.on('clientDisconnect', connectHooks.onClientDisconnect);
  aedes.on('clientError', (client: Client, error: Error) => logger.debug({ clientId: client.id, err: error.message }, 'client error'));
  aedes.on('connectionError', (_client: Client, error: Error) => logger.debug({ err: error.message }, 'connection error'));
  // Aedes emits 'error' for persistence and will-sweep failures: log, never crash the node.
  (aedes as EventEmitter).on('error', (error: Error) => logger.error({ err: error }, 'aedes error'));
  await aedes.listen();
  // Redis persistence reads an exact topic with one HGET already; the memory store scans.
  if (!stored) indexRetainedLookups((aedes as unknown as { persistence: unknown }).persistence);
  if (wills) {
    const publisher = willPublisher(context, wills);
    if (config.cluster === 'none') {
      // No other run can be alive on this prefix: every will not this run's is from a run that
      // ended, and goes out before the listener accepts anyone (a device back later says `online` after it).
      const published = await wills.sweep(publisher, { everyOtherRun: true });
      if (published > 0) logger.info({ wills: published }, 'published the wills of connections lost when the previous run ended');
    }
    wills.sweepPeriodically(publisher);
    logger.info({ run: wills.run, brokerId: aedes.id }, 'broker run holds its wills lease');
  }

  const revocations = await listenForRevocations(context, duplicateRedis(redis));
  const listener = await startListener(
    {
      host: config.host,
      port: config.port,
      ...(tls ? { tls } : {}),
      maxConnections: limits.maxConnections,
      connectsPerIpPerSec: limits.connectsPerIpPerSec,
      connectTimeoutMs: limits.connectTimeoutMs,
      maxPreAuthPacketBytes: limits.maxPreAuthPacketBytes,
    },
    {
      refused: (reason) => recorder.record(reason),
      bytesIn: (count) => metrics.bytesIn.inc(count),
      bytesOut: (count) => metrics.bytesOut.inc(count),
    },
    (connection) => aedes.handle(connection),
  );
  openSockets = listener.openSockets;

  let closed = false;
  let metricsServer: RunningMetricsServer | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await startMetricsServer(config.metricsHost ?? config.host, config.metricsPort, metrics.registry, () => !closed && redis.status === 'ready');
  }

  const url = urlOf(tls ? 'mqtts' : 'mqtt', config.host, listener.port);
  logger.info({ url, cluster: config.cluster, persistence: config.persistence, intake: config.intakeMode, brokerId: aedes.id, serviceAccounts: config.serviceAccounts.length }, 'broker listening');

  let closing: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    closed = true;
    context.shuttingDown = true;
    listener.stopAccepting();
    // Say `offline` for every device here while it is still connected, so the message is
    // ordered before anything its next connection (maybe to another node) says.
    const presence: Promise<void>[] = [];
    for (const client of Object.values(liveClients(aedes))) {
      const session = client ? context.sessions.get(client) : undefined;
      if (session?.identity.kind === 'device') presence.push(publishPresence(aedes, session.identity.deviceId, 'offline').catch(() => undefined));
    }
    await timeLimit(Promise.all(presence), SHUTDOWN_PRESENCE_TIMEOUT_MS, () => undefined);
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    // What is written gets acknowledged; what is not stays with its device, which resends it.
    await intake?.close();
    intakeRedis?.disconnect();
    connectHooks.close();
    await listener.close();
    await wills?.close();
    await willsRedis?.quit().catch(() => willsRedis.disconnect());
    await stored?.close();
    await recorder.close();
    await revocations.close();
    await metricsServer?.close();
    if (ownsRedis) await redis.quit().catch(() => redis.disconnect());
    logger.info({ url }, 'broker closed');
  }

  return {
    port: listener.port,
    host: config.host,
    url,
    metrics: metrics.registry,
    refusals: () => recorder.snapshot(),
    ...(metricsServer ? { metricsPort: metricsServer.port } : {}),
    close: () => (closing ??= shutdown()),
  };
}

/**
 * How the wills sweep publishes (persistence/node-wills.ts): a will goes through authorizePublish
 * as Aedes' own sweep did (adapter/publish-hooks.ts authorizeWill), so a will no rule allows is
 * dropped; a device that came back during the sweep, or whose node's lease lapsed, says `online`.
 */
function willPublisher(context: AdapterContext, wills: NodeWills): WillPublisher {
  const { aedes, logger } = context;
  return {
    publish: (will) =>
      new Promise<void>((resolve, reject) => {
        const packet = { cmd: 'publish' as const, topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false, clientId: will.clientId };
        aedes.authorizePublish!(null as unknown as Client, packet, (error?: Error | null) => {
          if (error) return resolve();
          aedes.publish(packet, (published?: Error) => (published ? reject(published) : resolve()));
        });
      }),
    reconnected: (clientId) => (isDeviceId(clientId) ? publishPresence(aedes, clientId, 'online') : Promise.resolve()),
    leaseLapsed: async () => {
      // Peers may have taken this run for dead and published the wills of connections that are
      // still here: store them again and say `online` again for each live device.
      logger.warn({ run: wills.run }, 'broker wills lease had lapsed (Redis unreachable): restoring wills and presence');
      for (const client of Object.values(liveClients(aedes))) {
        const session = client ? context.sessions.get(client) : undefined;
        const will = (client as { will?: { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean } } | undefined)?.will;
        if (!client || client.closed || !session || !will) continue;
        await wills.put(client.id, will);
        if (session.identity.kind === 'device') await publishPresence(aedes, session.identity.deviceId, 'online');
      }
    },
  };
}
