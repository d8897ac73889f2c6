// File adapter of DeviceStore: one JSON file per device in a state directory, written to a
// temp file, flushed, then renamed over the old one, so a crash leaves the old or the new
// record and never half of one. Files hold the device's secret key: mode 0600, directory 0700.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isDeviceId } from '../../protocol/index.js';
import { parseDeviceRecord, type DeviceRecord } from './device-state.js';
import { AgentError } from './errors.js';
import type { DeviceStore } from './store.js';

/** A record file larger than this is refused unread (the outbox is bounded; see AGENT_LIMITS). */
export const MAX_RECORD_FILE_BYTES = 4 * 1024 * 1024;

export class FileDeviceStore implements DeviceStore {
  constructor(private readonly dir: string) {}

  private pathOf(deviceId: string): string {
    // Ids are [A-Za-z0-9_-]: no path separators, no dots.
    if (!isDeviceId(deviceId)) throw new AgentError('state_corrupt', 'invalid device id');
    return join(this.dir, `${deviceId}.json`);
  }

  async load(deviceId: string): Promise<DeviceRecord | undefined> {
    const path = this.pathOf(deviceId);
    let text: string;
    try {
      const handle = await open(path, 'r');
      try {
        const { size } = await handle.stat();
        if (size > MAX_RECORD_FILE_BYTES) throw new AgentError('state_corrupt', `record file of ${size} bytes`);
        text = await handle.readFile('utf8');
      } finally {
        await handle.close();
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new AgentError('state_corrupt', `record file ${deviceId}.json is not JSON`);
    }
    const record = parseDeviceRecord(json);
    if (record.deviceId !== deviceId) throw new AgentError('state_corrupt', 'record file names another device');
    return record;
  }

  async save(record: DeviceRecord): Promise<void> {
    const path = this.pathOf(record.deviceId);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = join(this.dir, `.${record.deviceId}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(record));
        // The rename must not overtake the data: flush before it.
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw new AgentError('store_failed', `cannot write ${record.deviceId}.json: ${(error as Error).message}`);
    }
  }

  async list(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).filter(isDeviceId).sort();
  }
}

