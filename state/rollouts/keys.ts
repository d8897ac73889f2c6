// Redis key names of rollouts, and of the per-device rollout fields they share with the
// registry. The only place these names are built; the Lua scripts (scripts.ts) get every key
// they touch from here, through KEYS.

export function rolloutKeys(prefix: string, rolloutId: string) {
  const base = `${prefix}rollout:${rolloutId}`;
  return {
    rollout: base,
    /** deviceId -> packed entry (entry.ts). */
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

/**
 * The device-side keys rollouts write: the device record (owner rollout, directive counter,
 * status sequence, last status) and the device's history list. One function, so the names
 * follow the registry's device key builders when those move under a device-shard hash tag.
 */
export function deviceRolloutKeys(prefix: string, deviceId: string) {
  return {
    record: `${prefix}device:${deviceId}`,
    history: `${prefix}device:${deviceId}:history`,
  } as const;
}

/** Keys of the directive reconciler (orchestrator/rollouts/reconciler.ts). */
export function reconcileKeys(prefix: string) {
  return {
    /** Hash of counters: republished, reissued. */
    stats: `${prefix}reconcile:stats`,
    /** One sweeper at a time (SET NX PX, token-checked release). */
    sweepLock: `${prefix}reconcile:sweep-lock`,
  } as const;
}
