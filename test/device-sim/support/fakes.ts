// In-memory fakes of the agent's I/O interfaces (STYLE.md §4), for unit tests.
import { createHash } from 'node:crypto';
import { parseStatusReport, type StatusSigned } from '../../../protocol/index.js';
import { AgentError } from '../../../device-sim/agent/errors.js';
import type { Clock } from '../../../device-sim/agent/clock.js';
import type { DeviceRecord } from '../../../device-sim/agent/device-state.js';
import type { FetchRequest, FetchResult, Fetcher } from '../../../device-sim/agent/fetcher.js';
import { MemoryDeviceStore, type DeviceStore } from '../../../device-sim/agent/store.js';
import type { Transport, TransportHandlers } from '../../../device-sim/agent/transport.js';

export class ManualClock implements Clock {
  constructor(public seconds: number) {}
  now(): number {
    return this.seconds;
  }
  advance(seconds: number): void {
    this.seconds += seconds;
  }
}

/** A broker link in memory: records every report it "acknowledges". */
export class FakeTransport implements Transport {
  private handlers: TransportHandlers | undefined;
  private up = false;
  readonly reports: StatusSigned[] = [];
  /** Publishes to refuse before acknowledging again (a lost PUBACK). */
  failPublishes = 0;
  constructor(private readonly autoConnect = true) {}

  get connected(): boolean {
    return this.up;
  }
  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    if (this.autoConnect) this.connect();
  }
  connect(): void {
    this.up = true;
    this.handlers?.onConnected();
  }
  disconnect(): void {
    this.up = false;
    this.handlers?.onDisconnected();
  }
  deliver(bytes: Uint8Array): void {
    this.handlers?.onDirective(bytes);
  }
  async publishStatus(bytes: Uint8Array): Promise<void> {
    if (!this.up) throw new AgentError('not_connected', 'down');
    if (this.failPublishes > 0) {
      this.failPublishes--;
      throw new AgentError('ack_timeout', 'lost');
    }
    const parsed = parseStatusReport(bytes);
    if (!parsed.ok) throw new Error(`agent sent an invalid report: ${parsed.refusal}`);
    this.reports.push(parsed.envelope.signed);
  }
  async stop(): Promise<void> {
    this.up = false;
  }
  states(): string[] {
    return this.reports.map((r) => (r.state === 'downloading' ? `downloading:${r.progress}` : r.reason ? `${r.state}:${r.reason}` : r.state));
  }
}

export type FetchBehaviour = 'ok' | 'fail' | 'oversize' | 'other-bytes';

/** Serves one payload from memory in chunks; can fail, overflow or pause (a gate). */
export class FakeFetcher implements Fetcher {
  behaviour: FetchBehaviour = 'ok';
  calls = 0;
  /** When set, the download waits on it after the first chunk. */
  gate: Promise<void> | undefined;
  constructor(private readonly payload: Uint8Array, private readonly chunks = 10) {}

  async fetch(request: FetchRequest): Promise<FetchResult> {
    this.calls++;
    if (this.behaviour === 'fail') return { ok: false, reason: 'download_failed', detail: 'fake failure' };
    const bytes = this.behaviour === 'other-bytes' ? this.payload.map((b) => b ^ 0xff) : this.behaviour === 'oversize' ? new Uint8Array(this.payload.length + 1) : this.payload;
    const hash = createHash('sha256');
    const step = Math.max(1, Math.ceil(bytes.length / this.chunks));
    let received = 0;
    for (let i = 0; i < bytes.length; i += step) {
      if (request.signal.aborted) return { ok: false, reason: 'download_failed', detail: 'aborted', aborted: true };
      const chunk = bytes.subarray(i, i + step);
      if (received + chunk.length > request.size) return { ok: false, reason: 'size_exceeded', detail: 'over' };
      hash.update(chunk);
      await request.sink.write(chunk);
      received += chunk.length;
      request.onProgress?.(received);
      // Like a real fetcher, a paused download still honours abort.
      if (this.gate && i === 0) await Promise.race([this.gate, new Promise((resolve) => request.signal.addEventListener('abort', resolve, { once: true }))]);
    }
    return { ok: true, sha256: hash.digest('hex'), size: received };
  }
}

/**
 * A store that "crashes" at its n-th save: `after` persists then fails (a crash right after the
 * step was written), `before` fails without persisting (a crash just before). Every later save
 * fails too: the agent instance is dead.
 */
export class CrashStore implements DeviceStore {
  saves = 0;
  crashed = false;
  constructor(readonly inner: MemoryDeviceStore, private readonly crashAt: number, private readonly mode: 'before' | 'after', private readonly onSave?: (record: DeviceRecord) => void) {}
  load(deviceId: string): Promise<DeviceRecord | undefined> {
    return this.inner.load(deviceId);
  }
  list(): Promise<string[]> {
    return this.inner.list();
  }
  async save(record: DeviceRecord): Promise<void> {
    if (this.crashed) throw new AgentError('store_failed', 'dead');
    this.saves++;
    if (this.saves === this.crashAt) {
      this.crashed = true;
      if (this.mode === 'after') {
        await this.inner.save(record);
        this.onSave?.(record);
      }
      throw new AgentError('store_failed', 'simulated crash');
    }
    await this.inner.save(record);
    this.onSave?.(record);
  }
}

/** Polls until `predicate` holds (real timers; the agent's work is promise-driven). */
export async function waitFor(predicate: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
