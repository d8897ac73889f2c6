// Holds a device's record in memory and persists it: every change (with the report that
// describes it) is applied synchronously, then saved, in order, before anyone acts on it.
// It makes no decisions; DeviceAgent does.
import type { StatusSigned } from '../../protocol/index.js';
import type { Clock } from './clock.js';
import type { DeviceRecord } from './device-state.js';
import { AgentError } from './errors.js';
import { withReport, type DeviceAttributes, type ReportFields, type Signer } from './reports.js';
import type { DeviceStore } from './store.js';

export interface KeeperDeps {
  store: DeviceStore;
  signer: Signer;
  clock: Clock;
  maxOutbox: number;
  /** The device's attributes, read when a report is built (undefined: the report carries none). */
  attributes?: () => DeviceAttributes | undefined;
  stopped(): boolean;
  /** A save failed: the agent must stop acting on state it could not persist. */
  die(error: Error): void;
}

export class RecordKeeper {
  private saveChain: Promise<void> = Promise.resolve();

  constructor(public record: DeviceRecord, private readonly deps: KeeperDeps) {}

  /** Saves the current record; saves run one after another, each writing its own snapshot. */
  persist(): Promise<void> {
    const snapshot = this.record;
    const saved = this.saveChain.then(() => this.deps.store.save(snapshot));
    this.saveChain = saved.catch(() => undefined);
    return saved.catch((error: unknown) => {
      this.deps.die(error as Error);
      throw new AgentError('stopped', 'persisting failed');
    });
  }

  /**
   * Applies `change` and queues `report` (signed, next seq) as one persisted step; resolves
   * with the report once saved. Throws stopped, applying nothing, once the agent stopped.
   */
  async commit(change: (record: DeviceRecord) => DeviceRecord, report?: ReportFields): Promise<StatusSigned | undefined> {
    if (this.deps.stopped()) throw new AgentError('stopped', 'agent stopped');
    let next = change(this.record);
    let body: StatusSigned | undefined;
    if (report) ({ record: next, report: body } = withReport(next, report, this.deps.clock.now(), this.deps.signer, this.deps.maxOutbox, this.deps.attributes?.()));
    this.record = next;
    await this.persist();
    return body;
  }

  /** Resolves once every save so far has finished (or failed). */
  settled(): Promise<void> {
    return this.saveChain;
  }
}
