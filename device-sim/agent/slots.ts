// The A/B slot writer behind one small interface, and the in-memory adapter the simulator
// uses (it keeps digests, not bytes, so 10,000 devices fit in one process). Files: file-slots.ts.
// The agent's record says which slot is active; the bootloader state here follows it.
import { createHash, type Hash } from 'node:crypto';
import type { SlotName } from './device-state.js';
import { FACTORY_IMAGE_SHA256 } from './device-state.js';
import { AgentError } from './errors.js';
import type { ByteSink } from './fetcher.js';

export interface ImageDigest {
  readonly sha256: string;
  readonly size: number;
}

export interface StagingSink extends ByteSink {
  /** Flushes what was written (a file adapter closes its handle). */
  close(): Promise<void>;
}

export interface Slots {
  /** Empties the staging area and returns the sink a download writes into. */
  openStaging(): Promise<StagingSink>;
  /**
   * Writes the staged image into `slot`, which must not be the committed boot slot. Throws
   * staging_mismatch if the staged bytes no longer hash to `expected`, slot_write_failed if writing fails.
   */
  install(slot: SlotName, expected: ImageDigest): Promise<void>;
  /** Boots `slot` on trial: unless commit() follows, the next boot falls back. Idempotent. */
  reboot(slot: SlotName): Promise<void>;
  /** Whether the trial slot came up healthy. */
  healthCheck(slot: SlotName): Promise<boolean>;
  /** Makes `slot` the permanent boot slot. Idempotent. */
  commit(slot: SlotName): Promise<void>;
  /** Boots the committed `slot` and forgets any trial. Idempotent. */
  revert(slot: SlotName): Promise<void>;
}

export interface MemorySlotsOptions {
  /** Simulated faults (profiles install-failure, health-check-failure). */
  failInstall?: boolean;
  failHealthCheck?: boolean;
  /** What slot A holds at first boot (default: the empty factory image). */
  factory?: ImageDigest;
}

/** Digest-only slots with a simulated bootloader; the state survives an agent "crash". */
export class MemorySlots implements Slots {
  private staging: { hash: Hash; size: number } | undefined;
  private readonly content: { A: ImageDigest | undefined; B: ImageDigest | undefined };
  private committed: SlotName = 'A';
  private trial: SlotName | undefined;
  /** Counters of what happened, for tests and the simulator. */
  readonly stats = { installs: 0, reboots: 0, commits: 0, reverts: 0 };

  constructor(private readonly options: MemorySlotsOptions = {}) {
    this.content = { A: options.factory ?? { sha256: FACTORY_IMAGE_SHA256, size: 0 }, B: undefined };
  }

  async openStaging(): Promise<StagingSink> {
    const staging = { hash: createHash('sha256'), size: 0 };
    this.staging = staging;
    return {
      reset: () => {
        staging.hash = createHash('sha256');
        staging.size = 0;
      },
      write: (chunk) => {
        staging.hash.update(chunk);
        staging.size += chunk.length;
      },
      close: async () => undefined,
    };
  }

  async install(slot: SlotName, expected: ImageDigest): Promise<void> {
    if (slot === this.committed) throw new AgentError('slot_write_failed', 'refusing to write the committed boot slot');
    const staged = this.staging ? { sha256: this.staging.hash.copy().digest('hex'), size: this.staging.size } : undefined;
    if (!staged || staged.sha256 !== expected.sha256 || staged.size !== expected.size) {
      throw new AgentError('staging_mismatch', 'staged image differs from the verified one');
    }
    this.stats.installs++;
    if (this.options.failInstall) {
      // A write that died half way: the slot now holds garbage.
      this.content[slot] = { sha256: 'torn', size: Math.floor(staged.size / 2) };
      throw new AgentError('slot_write_failed', 'simulated write failure');
    }
    this.content[slot] = staged;
  }

  async reboot(slot: SlotName): Promise<void> {
    this.stats.reboots++;
    this.trial = slot === this.committed ? undefined : slot;
  }

  async healthCheck(slot: SlotName): Promise<boolean> {
    return !this.options.failHealthCheck && this.content[slot] !== undefined;
  }

  async commit(slot: SlotName): Promise<void> {
    this.stats.commits++;
    this.committed = slot;
    this.trial = undefined;
  }

  async revert(slot: SlotName): Promise<void> {
    if (this.trial !== undefined || this.committed !== slot) this.stats.reverts++;
    this.committed = slot;
    this.trial = undefined;
  }

  /** The slot a power cycle would boot, and what it holds (the crash invariant's view). */
  bootView(): { committed: SlotName; trial: SlotName | undefined; image: ImageDigest | undefined } {
    return { committed: this.committed, trial: this.trial, image: this.content[this.committed] };
  }

  contentOf(slot: SlotName): ImageDigest | undefined {
    return this.content[slot];
  }
}
