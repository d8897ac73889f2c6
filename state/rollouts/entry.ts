// Codec of a device's entry in a rollout: one packed field per device in one hash per rollout
// (`state|wave|counter|progress|reason`), ~100 bytes a device rather than a key each. The Lua
// scripts (scripts.ts) parse and pack the same format.

export interface DeviceRolloutEntry {
  state: string;
  wave: number;
  counter: number;
  progress: number;
  reason: string;
}

export function parseEntry(packed: string | null | undefined): DeviceRolloutEntry | undefined {
  if (!packed) return undefined;
  const [state = '', wave = '0', counter = '0', progress = '0', reason = ''] = packed.split('|');
  return { state, wave: Number(wave), counter: Number(counter), progress: Number(progress), reason };
}

export function packEntry(entry: DeviceRolloutEntry): string {
  return `${entry.state}|${entry.wave}|${entry.counter}|${entry.progress}|${entry.reason}`;
}
