// One-machine fleet-ota: a fresh key set, the broker and the orchestrator in this process, a
// signed release, and simulated devices registered through the API. The demo (`npm start`),
// the benchmark and the integration tests all stand on it, so they exercise the real paths.
import { randomBytes, createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RedisClient as Redis } from '../../state/redis.js';
import { brokerConfig, generateServiceSecret, hashServiceSecret, startBroker, type RunningBroker, type BrokerLimits } from '../../broker/index.js';
import type { RootEnvelope, SigningKey } from '../../protocol/index.js';
import { loadOrchestratorConfig } from '../../orchestrator/config.js';
import { silentLogger, type Logger } from '../../runtime/logger.js';
import { createRedis, deleteKeysWithPrefix } from '../../state/redis.js';
import { initKeySet } from '../../orchestrator/keys/init-key-set.js';
import { readPrivateKeyFile } from '../../orchestrator/keys/key-file.js';
import { readRootFile, rootFileName } from '../../orchestrator/keys/key-set.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import type { RolloutSpecInput } from '../../orchestrator/rollouts/spec.js';
import type { EngineOptions } from '../../orchestrator/rollouts/engine.js';
import { startFleetOrchestrator, type FleetOrchestrator, type FleetOrchestratorOptions } from '../../orchestrator/server.js';
import { createApiClient, publishRoot, type ApiClient, type JsonCall } from '../../api-client/index.js';
import { publishReleaseViaApi, registerDevicesViaApi } from './api.js';
import { waitForRollout } from './wait-for-rollout.js';

export interface LocalStackOptions {
  redisUrl?: string;
  /** Redis key prefix; a fresh one per stack by default, deleted on close. */
  prefix?: string;
  httpPort?: number;
  brokerPort?: number;
  vendorId?: string;
  classId?: string;
  /** Where keys and artifacts go; a temp dir by default, removed on close. */
  workDir?: string;
  logger?: Logger;
  engine?: Partial<EngineOptions>;
  /** The engine's clock, epoch seconds (tests of schedules inject theirs). */
  now?: () => number;
  brokerLimits?: Partial<BrokerLimits>;
  extraRoutes?: FleetOrchestratorOptions['extraRoutes'];
  /** Keep Redis keys and the work dir after close (for inspection). */
  keep?: boolean;
}

export interface PublishedRelease {
  releaseId: string;
  sequence: number;
  digest: string;
  payload: Uint8Array;
}

export interface LocalStack {
  prefix: string;
  redis: Redis;
  broker: RunningBroker;
  orchestrator: FleetOrchestrator;
  apiUrl: string;
  brokerUrl: string;
  operatorToken: string;
  readToken: string;
  /** The orchestrator's broker service account (tests and tools that subscribe like it). */
  serviceAccount: { username: string; secret: string };
  /** The operator's API client; `api` is its JSON shorthand. */
  client: ApiClient;
  api: JsonCall;
  root: RootEnvelope;
  releaseKey: SigningKey;
  vendorId: string;
  classId: string;
  workDir: string;
  /** Starts one more orchestrator on the same Redis prefix and broker (it joins the ingestion group). */
  spawnOrchestrator(): Promise<FleetOrchestrator>;
  /** Registers devices through `POST /v1/devices/import` (NDJSON). */
  registerDevices(devices: ReadonlyArray<{ id: string; publicKey: string; groups?: string[]; tags?: string[] }>): Promise<number>;
  /** Uploads `payload` as an artifact, signs its manifest offline with the release key, imports it. */
  publishRelease(input: { releaseId: string; version: string; sequence: number; payload?: Uint8Array; minSequence?: number }): Promise<PublishedRelease>;
  createRollout(spec: RolloutSpecInput): Promise<RolloutView>;
  rollout(id: string): Promise<RolloutView>;
  /** Polls the rollout until `done(view)` holds; throws with the last view on timeout. */
  waitForRollout(id: string, done: (view: RolloutView) => boolean, timeoutMs?: number): Promise<RolloutView>;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const logger = options.logger ?? silentLogger();
  const prefix = options.prefix ?? `fleet-local:${randomBytes(4).toString('hex')}:`;
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const vendorId = options.vendorId ?? 'acme';
  const classId = options.classId ?? 'gw-1';
  const ownsWorkDir = options.workDir === undefined;
  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'fleet-ota-')));
  const redis = createRedis(redisUrl);
  const closers: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer().catch((error: Error) => logger.warn({ err: error.message }, 'close step failed'));
  };
  closers.push(async () => redis.quit());
  if (!options.keep) closers.push(async () => deleteKeysWithPrefix(redis, prefix));
  if (ownsWorkDir && !options.keep) closers.push(async () => rm(workDir, { recursive: true, force: true }));
  try {
    // 1. Keys, as `fleet-ota keys init` makes them: root 2-of-3, one release key, one director key.
    const keysDir = join(workDir, 'keys');
    await initKeySet({ dir: keysDir, force: true });
    const root = await readRootFile(join(keysDir, rootFileName(1)));
    const releaseKey = await readPrivateKeyFile(join(keysDir, 'release-1.key'), 'release');
    const directorKey = await readPrivateKeyFile(join(keysDir, 'director-1.key'), 'director');

    // 2. The broker, with one service account for the orchestrator.
    const serviceSecret = generateServiceSecret();
    const broker = await startBroker(brokerConfig({
      host: '127.0.0.1',
      port: options.brokerPort ?? 0,
      redisUrl,
      keyPrefix: prefix,
      serviceAccounts: [{ username: 'orchestrator', secretSha256: hashServiceSecret(serviceSecret), role: 'orchestrator' }],
      // Every simulated device connects from 127.0.0.1: a per-address connect rate would throttle them all.
      limits: { connectsPerIpPerSec: 0, ...options.brokerLimits },
    }), { logger: logger.child({ part: 'broker' }) });
    closers.push(() => broker.close());

    // 3. The orchestrator: HTTP API, engine, ingestion.
    const operatorToken = randomBytes(24).toString('base64url');
    const readToken = randomBytes(24).toString('base64url');
    const config = {
      ...loadOrchestratorConfig({}),
      redisUrl,
      keyPrefix: prefix,
      httpPort: options.httpPort ?? 0,
      dataDir: join(workDir, 'data'),
      operatorToken,
      readonlyToken: readToken,
      brokerUrl: broker.url,
      brokerUsername: 'orchestrator',
      brokerSecret: serviceSecret,
    };
    const orchestratorOptions: FleetOrchestratorOptions = {
      config,
      directorKey,
      logger: logger.child({ part: 'orchestrator' }),
      ...(options.engine ? { engine: options.engine } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.extraRoutes ? { extraRoutes: options.extraRoutes } : {}),
    };
    const orchestrator = await startFleetOrchestrator(orchestratorOptions);
    closers.push(() => orchestrator.close());
    const client = createApiClient({ baseUrl: orchestrator.url, token: operatorToken });
    const api = client.json;
    await publishRoot(client, root);

    const stack: LocalStack = {
      prefix,
      redis,
      broker,
      orchestrator,
      apiUrl: orchestrator.url,
      brokerUrl: broker.url,
      operatorToken,
      readToken,
      serviceAccount: { username: 'orchestrator', secret: serviceSecret },
      client,
      api,
      root,
      releaseKey,
      vendorId,
      classId,
      workDir,
      async spawnOrchestrator() {
        const another = await startFleetOrchestrator(orchestratorOptions);
        closers.push(() => another.close());
        return another;
      },
      registerDevices: (devices) => registerDevicesViaApi(client, devices, { vendorId, classId }),
      async publishRelease(input) {
        const payload = input.payload ?? new Uint8Array(randomBytes(1024));
        const stored = await publishReleaseViaApi(client, releaseKey, { ...input, vendorId, classId, payload });
        return { releaseId: input.releaseId, sequence: input.sequence, digest: stored.digest, payload };
      },
      createRollout: (spec) => api<RolloutView>('POST', '/v1/rollouts', spec),
      rollout: (id) => api<RolloutView>('GET', `/v1/rollouts/${id}`),
      waitForRollout: (id, done, timeoutMs = 30_000) => waitForRollout(() => api, id, done, timeoutMs),
      close,
    };
    return stack;
  } catch (error) {
    await close();
    throw error;
  }
}

/** SHA-256 hex of bytes (artifact checks in tests and the demo). */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

