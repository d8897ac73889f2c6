// Redis layout of rollouts. Per-device rollout state is one packed field per device in one hash
// per rollout (`state|wave|counter|progress|reason`): ~100 bytes a device, not a key each.
// Scripts build the same names from the prefix (single-node Redis; see README on Cluster).

export function rolloutKeys(prefix: string, rolloutId: string) {
  const base = `${prefix}rollout:${rolloutId}`;
  return {
    rollout: base,
    devices: `${base}:devices`,
    counts: `${base}:counts`,
    /** deviceId -> epoch seconds its current install directive was issued (signed) at. */
    issued: `${base}:issued`,
    /** Notification pacer of maxNotificationsPerMinute (scripts.ts: pace). */
    notifyPace: `${base}:notify-pace`,
    wave: (n: number) => `${base}:wave:${n}`,
    waveCounts: (n: number) => `${base}:wave:${n}:counts`,
    waveMembers: (n: number) => `${base}:wave:${n}:members`,
    waveSlicesDone: (n: number) => `${base}:wave:${n}:slices-done`,
  } as const;
}

export function rolloutIndexKeys(prefix: string) {
  return {
    /** Sorted set of rollout ids by creation sequence. */
    index: `${prefix}rollouts`,
    /** Creation sequence: a newer rollout supersedes an older one on a shared device. */
    sequence: `${prefix}rollout-seq`,
  } as const;
}

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
