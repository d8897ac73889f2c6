// What a DeviceAgent is built from: its I/O adapters (deps) and its per-device options.
import type { Consent, Ed25519 } from '../../protocol/index.js';
import type { Clock } from './clock.js';
import type { AgentConfig } from './config.js';
import type { Job } from './device-state.js';
import type { Fetcher } from './fetcher.js';
import type { AgentLogger } from './logger.js';
import type { LocalWindow } from './policy-gate.js';
import type { DeviceAttributes } from './reports.js';
import type { Slots } from './slots.js';
import type { DeviceStore } from './store.js';
import type { Transport } from './transport.js';

export interface AgentDeps {
  store: DeviceStore;
  transport: Transport;
  fetcher: Fetcher;
  slots: Slots;
  clock?: Clock;
  /** Signature backend: noble by default (portable); the simulator passes nodeEd25519. */
  ed25519?: Ed25519;
  logger?: AgentLogger;
}

export interface AgentOptions {
  deviceId: string;
  config?: Partial<AgentConfig>;
  /** The owner's answer to an optional update; undefined (not answered yet) defers it. */
  consent?: (job: Job) => Consent;
  /** A device-local maintenance window (UTC), on top of the directive's. */
  localWindow?: LocalWindow;
  /**
   * What the device reports about itself in every status report (docs/protocol.md#status-report:
   * hwrev, freeStorage, free-form), read when the report is built; absent: reports carry none.
   */
  attributes?: () => DeviceAttributes | undefined;
}

/** Counters of what was not reported, and why. */
export interface AgentCounters {
  duplicates: number;
  repeated: number;
  unreportable: number;
}
