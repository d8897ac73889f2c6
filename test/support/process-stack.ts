// fleet-ota as separate processes on loopback: `fleet-ota broker` and `fleet-ota serve`, each a
// child process configured only through its environment, exactly as an operator runs them.
// The end-to-end tests and the benchmark drive it; devices run in the calling process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RedisClient as Redis } from '../../state/redis.js';
import { generateServiceSecret, hashServiceSecret } from '../../broker/index.js';
import type { RootEnvelope, SigningKey } from '../../protocol/index.js';
import { createRedis, deleteKeysWithPrefix } from '../../state/redis.js';
import { initKeySet } from '../../orchestrator/keys/init-key-set.js';
import { readPrivateKeyFile } from '../../orchestrator/keys/key-file.js';
import { readRootFile, rootFileName } from '../../orchestrator/keys/key-set.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import type { RolloutSpecInput } from '../../orchestrator/rollouts/spec.js';
import { createApiClient, publishRoot, type ApiClient, type JsonCall } from '../../api-client/index.js';
import { publishReleaseViaApi, registerDevicesViaApi } from '../../launcher/demo/api.js';
import { waitForRollout } from '../../launcher/demo/wait-for-rollout.js';
import { issueDeviceCertificate, loadDeviceCa } from '../../orchestrator/keys/device-ca.js';
import { freePort } from './free-port.js';
import { startMosquitto } from './mosquitto.js';

const CLI = fileURLToPath(new URL('../../launcher/fleet-ota.js', import.meta.url));
/**
 * A child's start: booting Node + tsx alone takes ~10 s on a loaded 2-core machine, and a
 * restarted `serve` first takes its persistent session's queued reports from the broker.
 */
const CHILD_START_TIMEOUT_MS = 60_000;
/**
 * Hook timeout for a test that starts a process stack (broker + orchestrator children, each
 * compiling TypeScript on start): two children of up to CHILD_START_TIMEOUT_MS each, plus set-up.
 * CI may share the 2 cores with other work; a start that really hangs still fails.
 */
export const STACK_HOOK_TIMEOUT_MS = 150_000;

export interface ChildHandle {
  process: ChildProcess;
  output(): string;
  /** Hard kill (SIGKILL): the crash case. */
  kill(): Promise<void>;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

function startChild(args: string[], env: Record<string, string>, ready: RegExp, timeoutMs = CHILD_START_TIMEOUT_MS, nodeArgs: string[] = []): Promise<{ child: ChildHandle; match: RegExpMatchArray }> {
  const proc = spawn(process.execPath, [...nodeArgs, CLI, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const child: ChildHandle = {
    process: proc,
    output: () => out,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void child.kill();
      reject(new Error(`fleet-ota ${args[0]} did not start in ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.length > 1_000_000) out = out.slice(-500_000);
      const match = out.match(ready);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fleet-ota ${args[0]} exited with ${code}:\n${out}`));
    });
  });
}

export interface ProcessStackOptions {
  redisUrl?: string;
  prefix?: string;
  vendorId?: string;
  classId?: string;
  /** Extra environment for the broker / orchestrator children. */
  brokerEnv?: Record<string, string>;
  orchestratorEnv?: Record<string, string>;
  /** node flags for the orchestrator (e.g. --cpu-prof). */
  orchestratorNodeArgs?: string[];
  /**
   * `mosquitto`: a real Mosquitto in place of `fleet-ota broker`, set up as an operator would with
   * `fleet-ota certs` (device CA, server certificate, CRL, written deployment); devices connect
   * with certificates (`deviceTls`), the orchestrator on the password service listener.
   */
  broker?: 'aedes' | 'mosquitto';
}

/** What devices need to connect to the Mosquitto stack: its CA and a certificate per device. */
export interface DeviceTls {
  ca: string;
  /** Issues (once) the device's certificate over its registered public key. */
  certificateOf(deviceId: string, publicKey: Uint8Array): Promise<string>;
  caDir: string;
}

export interface ProcessStack {
  prefix: string;
  redis: Redis;
  brokerUrl: string;
  apiUrl: string;
  /** The operator's API client (follows a restarted orchestrator); `api` is its JSON shorthand. */
  readonly client: ApiClient;
  api: JsonCall;
  operatorToken: string;
  root: RootEnvelope;
  releaseKey: SigningKey;
  directorKeyPath: string;
  serviceAccount: { username: string; secret: string };
  vendorId: string;
  classId: string;
  broker: ChildHandle;
  /** Set with `broker: 'mosquitto'`. */
  deviceTls?: DeviceTls;
  orchestrator: ChildHandle;
  /** Starts another orchestrator process on the first one's HTTP port (after a kill or stop). */
  restartOrchestrator(): Promise<ChildHandle>;
  /** Starts one more orchestrator process beside the running ones (its own HTTP port); stopped by close(). */
  addOrchestrator(env?: Record<string, string>): Promise<{ child: ChildHandle; url: string; api: JsonCall }>;
  /** SIGKILLs the broker and starts it again on the same port (extra environment for the new one). */
  restartBroker(env?: Record<string, string>): Promise<ChildHandle>;
  /**
   * Starts another `fleet-ota broker` with the first one's environment plus `env`: after a kill,
   * with the same FLEET_BROKER_PORT, the restarted broker; with another port and FLEET_BROKER_ID,
   * a second cluster node. Stopped by close().
   */
  startBroker(env?: Record<string, string>): Promise<{ child: ChildHandle; url: string }>;
  registerDevices(devices: ReadonlyArray<{ id: string; publicKey: string }>): Promise<void>;
  publishRelease(input: { releaseId: string; version: string; sequence: number; payload?: Uint8Array }): Promise<{ releaseId: string; digest: string }>;
  createRollout(spec: RolloutSpecInput): Promise<RolloutView>;
  waitForRollout(id: string, done: (view: RolloutView) => boolean, timeoutMs?: number): Promise<RolloutView>;
  close(): Promise<void>;
}

export async function startProcessStack(options: ProcessStackOptions = {}): Promise<ProcessStack> {
  const redisUrl = options.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = options.prefix ?? `fleet-proc:${randomBytes(4).toString('hex')}:`;
  const vendorId = options.vendorId ?? 'acme';
  const classId = options.classId ?? 'gw-1';
  const workDir = await mkdtemp(join(tmpdir(), 'fleet-ota-proc-'));
  const redis = createRedis(redisUrl);
  const children: ChildHandle[] = [];
  const close = async () => {
    await Promise.all(children.map((c) => c.stop()));
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const keysDir = join(workDir, 'keys');
    await initKeySet({ dir: keysDir });
    const root = await readRootFile(join(keysDir, rootFileName(1)));
    const releaseKey = await readPrivateKeyFile(join(keysDir, 'release-1.key'), 'release');
    const secret = generateServiceSecret();
    const brokerEnv: Record<string, string> = {
      REDIS_URL: redisUrl,
      FLEET_KEY_PREFIX: prefix,
      FLEET_BROKER_PORT: '0',
      FLEET_BROKER_SERVICE_ACCOUNTS: JSON.stringify([{ username: 'orchestrator', secretSha256: hashServiceSecret(secret), role: 'orchestrator' }]),
      FLEET_BROKER_CONNECTS_PER_IP_PER_SEC: '0',
      ...options.brokerEnv,
    };
    const brokerReady = /(mqtts?:\/\/[\d.]+:\d+)/;
    const startBroker = async (env: Record<string, string> = {}) => {
      const { child, match } = await startChild(['broker'], { ...brokerEnv, ...env }, brokerReady);
      children.push(child);
      return { child, url: match[1]! };
    };
    let broker: ChildHandle;
    let brokerUrl: string;
    let serviceBrokerUrl: string;
    let serviceAccount = { username: 'orchestrator', secret };
    let deviceTls: DeviceTls | undefined;
    if (options.broker === 'mosquitto') {
      const mosquitto = await startMosquittoStack(workDir);
      children.push(mosquitto.child);
      ({ child: broker, deviceUrl: brokerUrl, serviceUrl: serviceBrokerUrl, deviceTls } = mosquitto);
      serviceAccount = mosquitto.serviceAccount;
    } else {
      ({ child: broker, url: brokerUrl } = await startBroker());
      serviceBrokerUrl = brokerUrl;
      // A restarted broker listens where devices and the orchestrator were told to connect.
      brokerEnv.FLEET_BROKER_PORT = new URL(brokerUrl).port;
    }
    const operatorToken = randomBytes(24).toString('base64url');
    const orchestratorEnv = {
      REDIS_URL: redisUrl,
      FLEET_KEY_PREFIX: prefix,
      FLEET_HTTP_PORT: '0',
      FLEET_DATA_DIR: join(workDir, 'data'),
      FLEET_OPERATOR_TOKEN: operatorToken,
      FLEET_DIRECTOR_KEY: join(keysDir, 'director-1.key'),
      FLEET_BROKER_URL: serviceBrokerUrl,
      FLEET_BROKER_USERNAME: serviceAccount.username,
      FLEET_BROKER_SECRET: serviceAccount.secret,
      // Mosquitto cannot write the intake shards: the orchestrators' MQTT bridge does.
      ...(options.broker === 'mosquitto' ? { FLEET_INTAKE_MODE: 'bridge' } : {}),
      ...options.orchestratorEnv,
    };
    const startOrchestrator = async (env: Record<string, string> = {}) => {
      const { child, match: url } = await startChild(['serve'], { ...orchestratorEnv, ...env }, /listening on (http:\/\/[\d.]+:\d+)/, CHILD_START_TIMEOUT_MS, options.orchestratorNodeArgs ?? []);
      children.push(child);
      return { child, url: url[1]! };
    };
    const first = await startOrchestrator();
    // A restarted orchestrator keeps the address: signed releases name artifact URLs on it.
    orchestratorEnv.FLEET_HTTP_PORT = new URL(first.url).port;
    let apiUrl = first.url;
    let client = createApiClient({ baseUrl: apiUrl, token: operatorToken });
    let api = client.json;
    await publishRoot(client, root);

    const stack: ProcessStack = {
      prefix,
      redis,
      brokerUrl,
      get apiUrl() {
        return apiUrl;
      },
      get client() {
        return client;
      },
      get api() {
        return api;
      },
      operatorToken,
      root,
      releaseKey,
      directorKeyPath: join(keysDir, 'director-1.key'),
      serviceAccount,
      vendorId,
      classId,
      broker,
      ...(deviceTls ? { deviceTls } : {}),
      orchestrator: first.child,
      async restartOrchestrator() {
        const next = await startOrchestrator();
        apiUrl = next.url;
        client = createApiClient({ baseUrl: apiUrl, token: operatorToken });
        api = client.json;
        stack.orchestrator = next.child;
        return next.child;
      },
      async restartBroker(env = {}) {
        await stack.broker.kill();
        const { child } = await startBroker(env);
        stack.broker = child;
        return child;
      },
      startBroker,
      async addOrchestrator(env = {}) {
        const { child, url } = await startOrchestrator({ FLEET_HTTP_PORT: '0', ...env });
        return { child, url, api: createApiClient({ baseUrl: url, token: operatorToken }).json };
      },
      async registerDevices(devices) {
        await registerDevicesViaApi(client, devices, { vendorId, classId });
      },
      async publishRelease(input) {
        const stored = await publishReleaseViaApi(client, releaseKey, { ...input, vendorId, classId, payload: input.payload ?? new Uint8Array(randomBytes(1024)) });
        return { releaseId: input.releaseId, digest: stored.digest };
      },
      createRollout: (spec) => api<RolloutView>('POST', '/v1/rollouts', spec),
      waitForRollout: (id, done, timeoutMs = 60_000) => waitForRollout(() => api, id, done, timeoutMs),
      close,
    };
    return stack;
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Mosquitto as an operator sets it up with `fleet-ota certs` (the real CLI, run here as child
 * processes): device CA, broker certificate for 127.0.0.1, an empty CRL, the written deployment.
 */
async function startMosquittoStack(workDir: string): Promise<{ child: ChildHandle; deviceUrl: string; serviceUrl: string; serviceAccount: { username: string; secret: string }; deviceTls: DeviceTls }> {
  const dir = join(workDir, 'mosquitto');
  const caDir = join(dir, 'ca');
  const secret = generateServiceSecret();
  const cli = async (args: string[], env: Record<string, string> = {}) => {
    const proc = spawn(process.execPath, [CLI, 'certs', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    if (code !== 0) throw new Error(`fleet-ota certs ${args[0]} exited ${code}: ${out}`);
  };
  const devicePort = await freePort();
  const servicePort = await freePort();
  await cli(['init', '--dir', caDir]);
  await cli(['server', '--dir', caDir, '--host', '127.0.0.1', '--out', join(dir, 'broker')]);
  await cli(['crl', '--dir', caDir, '--out', join(dir, 'crl.pem')]);
  await cli(['mosquitto-config', '--dir', caDir, '--out', dir, '--server-cert', join(dir, 'broker'), '--crl', join(dir, 'crl.pem'),
    '--device-port', String(devicePort), '--device-bind', '127.0.0.1', '--service-port', String(servicePort), '--run-as', userInfo().username], { FLEET_BROKER_SECRET: secret });
  const running = await startMosquitto(join(dir, 'mosquitto.conf'), [devicePort, servicePort]);
  const child: ChildHandle = { process: running.child, output: running.output, kill: async () => { running.child.kill('SIGKILL'); await running.stop(); }, stop: running.stop };
  const ca = await loadDeviceCa(caDir);
  const issued = new Map<string, Promise<string>>();
  const deviceTls: DeviceTls = {
    ca: ca.certificatePem,
    caDir,
    certificateOf(deviceId, publicKey) {
      let pem = issued.get(deviceId);
      if (!pem) {
        pem = issueDeviceCertificate(ca, { deviceId, publicKey, nowSeconds: Math.floor(Date.now() / 1000), days: 1 }).then((c) => c.pem);
        issued.set(deviceId, pem);
      }
      return pem;
    },
  };
  return { child, deviceUrl: `mqtts://127.0.0.1:${devicePort}`, serviceUrl: `mqtt://127.0.0.1:${servicePort}`, serviceAccount: { username: 'fleet-orchestrator', secret }, deviceTls };
}

/** CPU seconds (user + system) and peak RSS of a child process, from /proc (Linux). */
export async function processUsage(pid: number): Promise<{ cpuSeconds: number; peakRssBytes: number } | undefined> {
  try {
    const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
    const ticks = Number(stat[11]) + Number(stat[12]);
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const hwm = /VmHWM:\s+(\d+) kB/.exec(status);
    return { cpuSeconds: ticks / 100, peakRssBytes: Number(hwm?.[1] ?? 0) * 1024 };
  } catch {
    return undefined;
  }
}
