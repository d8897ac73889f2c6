// connectFleet: runs provisioned devices in this process (one event loop), connecting them
// with bounded concurrency, and hands back live counts. startFleet = provision + connect.
import http from 'node:http';
import https from 'node:https';
import type { ReportedState, RootEnvelope, RootSigned, StatusSigned } from '../../protocol/index.js';
import { systemClock, type Clock } from '../agent/clock.js';
import { HttpFetcher } from '../agent/http-fetcher.js';
import { silentAgentLogger, type AgentLogger } from '../agent/logger.js';
import type { DeviceAttributes } from '../agent/reports.js';
import { buildSimDevice, failingFetcher, type SimRuntime } from './device-kit.js';
import type { Profile, ProfileMix } from './profiles.js';
import { provisionFleet, type ProvisionedFleet, type ProvisionOptions, type SimDevice } from './provision.js';
import { deviceRandom } from './rng.js';
import { DEFAULT_SIM_TUNING, type SimTuning } from './tuning.js';

export interface ConnectOptions {
  /** One broker URL or several to fail over between (agent/mqtt-transport.ts). */
  brokerUrl: string | readonly string[];
  /** Connect token lifetime (docs/protocol.md#device-connect-token: at most the broker's maximum). */
  tokenLifetimeSeconds?: number;
  /** Connection attempts in flight at once while the fleet comes up. */
  connectConcurrency?: number;
  /** How long one device may take to connect before the next one starts anyway. */
  connectWaitMs?: number;
  tuning?: Partial<SimTuning>;
  clock?: Clock;
  logger?: AgentLogger;
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /** Each device's X.509 client certificate (PEM), for a broker that authenticates by certificate. */
  certificateOf?: (deviceId: string) => string | undefined;
  /** Each device's reported attributes, read at every report (default: device-kit's simulatedAttributes). */
  attributesOf?: (deviceId: string, profile: Profile) => DeviceAttributes | undefined;
  /** Hears every report from the first one on: a device with a directive waiting for it may
   *  report (even finish) before connectFleet returns, too early for `onReport` on the handle. */
  onReport?: (event: FleetReport) => void;
}

export interface FleetOptions extends Omit<ProvisionOptions, 'root'>, ConnectOptions {
  root: RootEnvelope | RootSigned;
}

/** What a device last reported; `idle` before its first report. */
export type FleetState = ReportedState | 'idle';

export interface FleetReport {
  deviceId: string;
  profile: Profile;
  report: StatusSigned;
}

export interface FleetHandle {
  readonly devices: readonly SimDevice[];
  counts(): Record<FleetState, number>;
  onReport(listener: (event: FleetReport) => void): () => void;
  connected(): number;
  /** Runtimes, for tests and the benchmark (agents, transports, slots). */
  readonly runtimes: readonly SimRuntime[];
  stop(): Promise<void>;
}

export const DEFAULT_CONNECT = {
  tokenLifetimeSeconds: 3600,
  connectConcurrency: 100,
  connectWaitMs: 10_000,
  stopConcurrency: 500,
} as const;

async function inPool<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
}

export async function connectFleet(fleet: ProvisionedFleet, options: ConnectOptions): Promise<FleetHandle> {
  const tuning: SimTuning = { ...DEFAULT_SIM_TUNING, ...options.tuning };
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? silentAgentLogger;
  // One pool for the whole fleet: at most `downloadConcurrency` downloads in flight.
  const pools = {
    httpAgent: new http.Agent({ keepAlive: true, maxSockets: tuning.downloadConcurrency }),
    httpsAgent: new https.Agent({ keepAlive: true, maxSockets: tuning.downloadConcurrency, ...(options.tls?.ca ? { ca: options.tls.ca } : {}) }),
  };
  const ctx = {
    brokerUrl: options.brokerUrl,
    ...(options.certificateOf ? { certificateOf: options.certificateOf } : {}),
    ...(options.attributesOf ? { attributesOf: options.attributesOf } : {}),
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? DEFAULT_CONNECT.tokenLifetimeSeconds,
    ed25519: fleet.ed25519,
    clock,
    tuning,
    store: fleet.store,
    logger,
    startedAt: clock.now(),
    fetchers: {
      normal: new HttpFetcher(pools),
      slow: new HttpFetcher({ ...pools, bytesPerSecond: tuning.slowBytesPerSecond }),
      flaky: new HttpFetcher({ ...pools, dropChancePerChunk: tuning.flakyDownloadDropChance, backoff: { initialMs: 200, maxMs: 5_000, factor: 2 } }),
      failing: failingFetcher(tuning.downloadFailureAfterMs),
    },
    ...(options.tls ? { tls: options.tls } : {}),
  };
  const listeners = new Set<(event: FleetReport) => void>(options.onReport ? [options.onReport] : []);
  const runtimes: SimRuntime[] = [];
  for (const [index, device] of fleet.devices.entries()) {
    const record = await fleet.store.load(device.id);
    if (!record) throw new Error(`device ${device.id} is not provisioned`);
    const runtime = buildSimDevice(ctx, record, device.profile, deviceRandom(fleet.seed, index));
    runtime.agent.onReport((report) => {
      for (const listener of listeners) listener({ deviceId: device.id, profile: device.profile, report });
    });
    runtimes.push(runtime);
  }
  let stopping: Promise<void> | undefined;
  const handle: FleetHandle = {
    devices: fleet.devices,
    runtimes,
    counts() {
      const counts: Record<string, number> = { idle: 0 };
      for (const r of runtimes) {
        const state = r.agent.lastState ?? 'idle';
        counts[state] = (counts[state] ?? 0) + 1;
      }
      return counts as Record<FleetState, number>;
    },
    onReport(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    connected: () => runtimes.reduce((n, r) => n + (r.transport.connected ? 1 : 0), 0),
    stop() {
      stopping ??= (async () => {
        await inPool(runtimes, DEFAULT_CONNECT.stopConcurrency, (r) => r.stop());
        pools.httpAgent.destroy();
        pools.httpsAgent.destroy();
      })();
      return stopping;
    },
  };
  const wait = options.connectWaitMs ?? DEFAULT_CONNECT.connectWaitMs;
  // Bounded: at most `connectConcurrency` CONNECTs in flight, so a broker is not stampeded.
  await inPool(runtimes, options.connectConcurrency ?? DEFAULT_CONNECT.connectConcurrency, async (runtime) => {
    if (stopping) return;
    await runtime.start();
    await runtime.transport.whenConnected(wait);
  });
  return handle;
}

/** provisionFleet then connectFleet, with one set of options. */
export async function startFleet(options: FleetOptions): Promise<FleetHandle> {
  const fleet = await provisionFleet(options);
  return connectFleet(fleet, options);
}

export type { ProfileMix };
