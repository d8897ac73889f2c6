// One simulated device: a DeviceAgent wired to real MQTT and HTTP adapters, bent by its
// profile (bandwidth, dropped connections, failing slots, owner's consent, local window, clock).
// The agent code is the reference agent unchanged; only its adapters and options differ.
import { createHash } from 'node:crypto';
import type { Ed25519 } from '../../protocol/index.js';
import { sleep } from '../agent/backoff.js';
import { skewedClock, type Clock } from '../agent/clock.js';
import { DeviceAgent } from '../agent/device-agent.js';
import { deviceKeyOf, type DeviceRecord } from '../agent/device-state.js';
import type { Fetcher } from '../agent/fetcher.js';
import type { AgentLogger } from '../agent/logger.js';
import { MqttTransport } from '../agent/mqtt-transport.js';
import type { LocalWindow } from '../agent/policy-gate.js';
import type { DeviceAttributes } from '../agent/reports.js';
import { MemorySlots } from '../agent/slots.js';
import type { DeviceStore } from '../agent/store.js';
import type { Profile } from './profiles.js';
import { between, type Random } from './rng.js';
import type { SimTuning } from './tuning.js';

/** What every device of a fleet shares. */
export interface KitContext {
  /** One broker URL or several to fail over between (agent/mqtt-transport.ts). */
  brokerUrl: string | readonly string[];
  certificateOf?: (deviceId: string) => string | undefined;
  /** Each device's reported attributes, read at every report (default: simulatedAttributes). */
  attributesOf?: (deviceId: string, profile: Profile) => DeviceAttributes | undefined;
  tokenLifetimeSeconds: number;
  ed25519: Ed25519;
  clock: Clock;
  tuning: SimTuning;
  store: DeviceStore;
  logger: AgentLogger;
  /** Seconds since the epoch when the fleet started (window-closed is relative to it). */
  startedAt: number;
  fetchers: { normal: Fetcher; slow: Fetcher; flaky: Fetcher; failing: Fetcher };
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
}

export interface SimRuntime {
  readonly id: string;
  readonly profile: Profile;
  readonly agent: DeviceAgent;
  readonly transport: MqttTransport;
  readonly slots: MemorySlots;
  /** Starts the agent and the profile's behaviour (drops, offline spell). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Hardware revisions a simulated device may have (by a hash of its id). */
const SIM_HWREVS = ['A', 'B', 'C'] as const;
/** Simulated free storage: between these many bytes, by a hash of the id, in whole MiB. */
const SIM_FREE_STORAGE_MIB = { min: 16, spread: 240 } as const;

/**
 * What a simulated device reports about itself (docs/protocol.md#status-report): `hwrev` and
 * `freeStorage` derived from its id (the same on every run), and its profile, free-form.
 */
export function simulatedAttributes(deviceId: string, profile: Profile): DeviceAttributes {
  const h = createHash('sha256').update(deviceId).digest().readUInt32BE(0);
  return {
    hwrev: SIM_HWREVS[h % SIM_HWREVS.length]!,
    freeStorage: (SIM_FREE_STORAGE_MIB.min + (Math.floor(h / SIM_HWREVS.length) % SIM_FREE_STORAGE_MIB.spread)) * 1024 * 1024,
    profile,
  };
}

/** Profile behaviour starts at the first connect, or after this long without one. */
const FIRST_CONNECT_WAIT_MS = 60_000;

/** A fetcher whose every download fails after a while (profile download-failure). */
export function failingFetcher(afterMs: number): Fetcher {
  return {
    async fetch(request) {
      await sleep(afterMs, request.signal);
      return { ok: false, reason: 'download_failed', detail: 'simulated: artifact server unreachable' };
    },
  };
}

function hhmm(epochSeconds: number): string {
  const minutes = Math.floor(epochSeconds / 60) % 1440;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

/** A window that opens `after` seconds from `startedAt` (next whole minute) and lasts `minutes`. */
export function windowOpeningLater(startedAt: number, afterSeconds: number, minutes: number): LocalWindow {
  const start = Math.ceil((startedAt + afterSeconds) / 60) * 60;
  return { start: hhmm(start), end: hhmm(start + minutes * 60) };
}

export function buildSimDevice(ctx: KitContext, record: DeviceRecord, profile: Profile, random: Random): SimRuntime {
  const { tuning } = ctx;
  const id = record.deviceId;
  const clock = profile === 'clock-skew' ? skewedClock(ctx.clock, Math.round(between(random, -1, 1) * tuning.clockSkewMaxSeconds)) : ctx.clock;
  const certificate = ctx.certificateOf?.(id);
  const transport = new MqttTransport({
    brokerUrl: ctx.brokerUrl,
    deviceId: id,
    secretKey: deviceKeyOf(record, ctx.ed25519).secretKey,
    ed25519: ctx.ed25519,
    clock,
    tokenLifetimeSeconds: ctx.tokenLifetimeSeconds,
    random,
    logger: ctx.logger,
    ...(ctx.tls ? { tls: ctx.tls } : {}),
    ...(certificate ? { certificate } : {}),
  });
  const slots = new MemorySlots({ failInstall: profile === 'install-failure', failHealthCheck: profile === 'health-check-failure' });
  const fetcher = profile === 'slow-network' ? ctx.fetchers.slow
    : profile === 'flaky-network' ? ctx.fetchers.flaky
      : profile === 'download-failure' ? ctx.fetchers.failing
        : ctx.fetchers.normal;
  const agent = new DeviceAgent(
    { store: ctx.store, transport, fetcher, slots, clock, ed25519: ctx.ed25519, logger: ctx.logger },
    {
      deviceId: id,
      config: { deferRecheckMs: tuning.deferRecheckMs, progressStepPercent: tuning.progressStepPercent, progressIntervalSeconds: tuning.progressIntervalSeconds },
      // The simulated owner says yes to optional updates, except in declines-optional.
      consent: () => (profile === 'declines-optional' ? 'declined' : 'granted'),
      attributes: () => (ctx.attributesOf ? ctx.attributesOf(id, profile) : simulatedAttributes(id, profile)),
      ...(profile === 'window-closed' ? { localWindow: windowOpeningLater(ctx.startedAt, tuning.windowOpensAfterSeconds, tuning.windowLengthMinutes) } : {}),
    },
  );

  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const after = (seconds: number, fn: () => void): void => {
    if (stopped) return;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!stopped) fn();
    }, seconds * 1000);
    timers.add(timer);
  };
  const scheduleDrop = (): void => after(between(random, tuning.flakyDropMinSeconds, tuning.flakyDropMaxSeconds), () => {
    transport.drop();
    scheduleDrop();
  });

  return {
    id,
    profile,
    agent,
    transport,
    slots,
    async start() {
      await agent.start();
      if (profile !== 'flaky-network' && profile !== 'offline-then-back') return;
      // Misbehave only once online (the first connect may take a while under load).
      void transport.whenConnected(FIRST_CONNECT_WAIT_MS).then(() => {
        if (profile === 'flaky-network') return scheduleDrop();
        after(between(random, 0, tuning.offlineAfterMaxSeconds), () => {
          transport.suspend();
          after(between(random, tuning.offlineForMinSeconds, tuning.offlineForMaxSeconds), () => transport.resume());
        });
      });
    },
    async stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await agent.stop();
    },
  };
}
