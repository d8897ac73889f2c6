// Redis key names of rollouts, and of the per-device keys rollouts share with the registry. The
// only place these names are built; every Lua script (scripts.ts) gets the keys it touches in
// KEYS, never builds one. Redis Cluster: every key of one rollout carries the tag `ro:<id>`
// (one slot per rollout, rollouts spread over the shards); a device's keys carry its device
// shard's tag (state/registry/device-keys.ts); each BullMQ queue has a tag of its own.
import { slotKey } from '../keys.js';
import { deviceHistoryKey, deviceKey } from '../registry/device-keys.js';
import { deviceShard } from '../registry/device-shard.js';

/** Hash tag of a rollout: all its keys share one slot. */
export function rolloutTag(rolloutId: string): string {
  return `ro:${rolloutId}`;
}

export function rolloutKeys(prefix: string, rolloutId: string) {
  const key = (...parts: Array<string | number>) => slotKey(prefix, rolloutTag(rolloutId), ...parts);
  return {
    /** The rollout's head (RolloutRecord fields, spec as JSON). */
    rollout: key('rollout'),
    /** deviceId -> packed entry (entry.ts). */
    devices: key('devices'),
    /** Devices by state and by reason, of the rollout (`<state>`, `reason:<r>`) and of each wave (`w<n>:<state>`, `w<n>:reason:<r>`). */
    counts: key('counts'),
    /** deviceId -> epoch seconds its current install directive was issued (signed) at. */
    issued: key('issued'),
    /** deviceId -> `seq|outcome|wave|from` of the last report evaluated (status-apply.ts: once, in order). */
    reports: key('reports'),
    /** History entries written with a transition, waiting to be copied to the devices' histories (outbox). */
    historyOutbox: key('history-outbox'),
    /** Notification pacer of maxNotificationsPerMinute (scripts.ts: pace). */
    notifyPace: key('notify-pace'),
    /** Sorted set: devices admitted under maxInFlight and not yet settled, by admission time (scripts.ts: admitSlice). */
    inFlight: key('in-flight'),
    wave: (n: number) => key('wave', n),
    waveMembers: (n: number) => key('wave', n, 'members'),
    waveSlicesDone: (n: number) => key('wave', n, 'slices-done'),
  } as const;
}

/** Field prefix of wave `n`'s counts in the rollout's counts hash. */
export function waveCountsField(n: number): string {
  return `w${n}:`;
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
 * status sequence, last status) and the device's history list, named by the registry's device
 * key builders so both share the device shard's slot.
 */
export function deviceRolloutKeys(prefix: string, deviceId: string) {
  return { record: deviceKey(prefix, deviceId), history: deviceHistoryKey(prefix, deviceId) } as const;
}

/** Devices whose keys share a slot are handled by one script call: grouped by device shard. */
export function deviceGroup(deviceId: string): number {
  return deviceShard(deviceId);
}

/** BullMQ prefix of one engine queue: BullMQ names its keys `${prefix}:${queue}:...`, all in the queue's own slot. */
export function queuePrefix(prefix: string, queue: string): string {
  return slotKey(prefix, `bull:${queue}`);
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
