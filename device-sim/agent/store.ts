// Where a device keeps its record: the interface the agent persists through, and the in-memory
// adapter the simulator uses (thousands of devices in one process). Files: file-store.ts.
import type { DeviceRecord } from './device-state.js';

export interface DeviceStore {
  load(deviceId: string): Promise<DeviceRecord | undefined>;
  /** Replaces the record whole; resolves once it would survive a crash. */
  save(record: DeviceRecord): Promise<void>;
  list(): Promise<string[]>;
}

/**
 * Keeps records by reference: records are immutable values, so devices provisioned from one
 * trust anchor share its root object instead of holding 10,000 copies.
 */
export class MemoryDeviceStore implements DeviceStore {
  private readonly records = new Map<string, DeviceRecord>();

  async load(deviceId: string): Promise<DeviceRecord | undefined> {
    return this.records.get(deviceId);
  }

  async save(record: DeviceRecord): Promise<void> {
    this.records.set(record.deviceId, record);
  }

  async list(): Promise<string[]> {
    return [...this.records.keys()];
  }

  /** Synchronous read, for tests and counters. */
  peek(deviceId: string): DeviceRecord | undefined {
    return this.records.get(deviceId);
  }
}
