// One device with fake I/O around a real DeviceAgent, plus helpers to sign what it receives.
import { randomBytes } from 'node:crypto';
import { type Ed25519, type ReleaseEnvelope } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { DeviceAgent } from '../../../device-sim/agent/device-agent.js';
import type { AgentOptions } from '../../../device-sim/agent/agent-options.js';
import { provisionDevice } from '../../../device-sim/agent/device-state.js';
import { MemorySlots, type MemorySlotsOptions } from '../../../device-sim/agent/slots.js';
import { MemoryDeviceStore, type DeviceStore } from '../../../device-sim/agent/store.js';
import { FakeFetcher, FakeTransport, ManualClock } from './fakes.js';
import { CLASS, directiveMessage, makeRelease, NOW, trustFixture, VENDOR, type DirectiveSpec, type ReleaseSpec, type TrustFixture } from './trust.js';

export interface HarnessOptions {
  ed25519?: Ed25519;
  payload?: Uint8Array;
  slots?: MemorySlotsOptions;
  agent?: Omit<AgentOptions, 'deviceId'>;
  deviceId?: string;
}

export class Harness {
  readonly deviceId: string;
  readonly t: TrustFixture;
  readonly store = new MemoryDeviceStore();
  readonly clock = new ManualClock(NOW);
  readonly payload: Uint8Array;
  readonly slots: MemorySlots;
  transport = new FakeTransport();
  fetcher: FakeFetcher;
  agent!: DeviceAgent;
  private readonly ed25519: Ed25519;

  constructor(private readonly options: HarnessOptions = {}) {
    this.ed25519 = options.ed25519 ?? nodeEd25519;
    this.t = trustFixture(nodeEd25519);
    this.deviceId = options.deviceId ?? 'dev-1';
    this.payload = options.payload ?? new Uint8Array(randomBytes(1000));
    this.slots = new MemorySlots(options.slots);
    this.fetcher = new FakeFetcher(this.payload);
    void this.store.save(provisionDevice({ deviceId: this.deviceId, secretKey: new Uint8Array(randomBytes(32)), vendorId: VENDOR, classId: CLASS, root: this.t.root }, this.ed25519));
  }

  /** Starts a fresh agent on the persisted record (a boot, or a reboot after a crash). */
  async boot(store: DeviceStore = this.store): Promise<DeviceAgent> {
    this.agent = new DeviceAgent(
      { store, transport: this.transport, fetcher: this.fetcher, slots: this.slots, clock: this.clock, ed25519: this.ed25519 },
      { deviceId: this.deviceId, ...this.options.agent, config: { progressIntervalSeconds: 3600, deferRecheckMs: 3_600_000, reportRetryMs: 20, ...this.options.agent?.config } },
    );
    await this.agent.start();
    return this.agent;
  }

  release(spec: Partial<ReleaseSpec> = {}): ReleaseEnvelope {
    return makeRelease(this.t, { payload: this.payload, ...spec });
  }

  message(spec: Partial<DirectiveSpec> & { counter: number }): Uint8Array {
    return directiveMessage(this.t, { deviceId: this.deviceId, release: spec.release ?? this.release(), ...spec });
  }

  record() {
    return this.store.peek(this.deviceId)!;
  }
}
