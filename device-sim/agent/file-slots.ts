// File adapter of Slots, for an agent running on a filesystem: `staging.bin` receives the
// download, `A.img` / `B.img` are the slots, `boot.json` is the bootloader's state (committed
// slot, trial slot). Every replacement is temp file + fsync + rename, so a crash leaves the
// old file or the new one. It never writes the committed slot's image.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { SlotName } from './device-state.js';
import { AgentError } from './errors.js';
import type { ImageDigest, Slots, StagingSink } from './slots.js';

interface BootState {
  committed: SlotName;
  trial: SlotName | null;
}

export interface FileSlotsOptions {
  /** The health check of a trial slot (default: its image file is there and readable). */
  healthCheck?: (slot: SlotName, imagePath: string) => Promise<boolean>;
}

export class FileSlots implements Slots {
  constructor(private readonly dir: string, private readonly options: FileSlotsOptions = {}) {}

  private path(name: string): string {
    return join(this.dir, name);
  }

  private imagePath(slot: SlotName): string {
    return this.path(`${slot}.img`);
  }

  private async writeAtomic(name: string, data: string): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = this.path(`.${name}.tmp`);
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.path(name));
  }

  async bootState(): Promise<BootState> {
    try {
      const parsed = JSON.parse(await readFile(this.path('boot.json'), 'utf8')) as Partial<BootState>;
      const slot = (s: unknown): s is SlotName => s === 'A' || s === 'B';
      if (slot(parsed.committed)) return { committed: parsed.committed, trial: slot(parsed.trial) ? parsed.trial : null };
    } catch {
      // First boot, or a torn write of an older format: the factory default.
    }
    return { committed: 'A', trial: null };
  }

  async openStaging(): Promise<StagingSink> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    let handle: FileHandle | undefined = await open(this.path('staging.bin'), 'w', 0o600);
    let position = 0;
    const current = (): FileHandle => {
      if (!handle) throw new AgentError('staging_mismatch', 'staging closed');
      return handle;
    };
    return {
      reset: async () => {
        await current().truncate(0);
        position = 0;
      },
      write: async (chunk) => {
        const { bytesWritten } = await current().write(chunk, 0, chunk.length, position);
        position += bytesWritten;
      },
      close: async () => {
        if (!handle) return;
        const closing = handle;
        handle = undefined;
        await closing.sync().catch(() => undefined);
        await closing.close();
      },
    };
  }

  /** SHA-256 and size of a file, streamed; undefined if it does not exist. */
  async digestOf(name: string): Promise<ImageDigest | undefined> {
    const info = await stat(this.path(name)).catch(() => undefined);
    if (!info) return undefined;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(this.path(name))) hash.update(chunk as Buffer);
    return { sha256: hash.digest('hex'), size: info.size };
  }

  async install(slot: SlotName, expected: ImageDigest): Promise<void> {
    const boot = await this.bootState();
    if (slot === boot.committed) throw new AgentError('slot_write_failed', 'refusing to write the committed boot slot');
    // Verify what is on storage, not what went over the wire.
    const staged = await this.digestOf('staging.bin');
    if (!staged || staged.sha256 !== expected.sha256 || staged.size !== expected.size) {
      throw new AgentError('staging_mismatch', 'staged image differs from the verified one');
    }
    const temp = this.path(`.${slot}.img.tmp`);
    try {
      await copyFile(this.path('staging.bin'), temp);
      const handle = await open(temp, 'r+');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.imagePath(slot));
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new AgentError('slot_write_failed', `writing slot ${slot} failed: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }

  async reboot(slot: SlotName): Promise<void> {
    const boot = await this.bootState();
    await this.writeAtomic('boot.json', JSON.stringify({ committed: boot.committed, trial: slot === boot.committed ? null : slot }));
  }

  async healthCheck(slot: SlotName): Promise<boolean> {
    if (this.options.healthCheck) return this.options.healthCheck(slot, this.imagePath(slot));
    return (await stat(this.imagePath(slot)).catch(() => undefined))?.isFile() === true;
  }

  async commit(slot: SlotName): Promise<void> {
    await this.writeAtomic('boot.json', JSON.stringify({ committed: slot, trial: null }));
  }

  async revert(slot: SlotName): Promise<void> {
    const boot = await this.bootState();
    if (boot.committed === slot && boot.trial === null) return;
    await this.writeAtomic('boot.json', JSON.stringify({ committed: slot, trial: null }));
  }
}
