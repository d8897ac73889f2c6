// Key names of the device registry's indexes and its revocation channel. The indexes are kept per
// device shard (device-shard.ts): a device's record and every index entry it has share the
// shard's hash tag, so each registry script touches one slot of a Redis Cluster; listings and
// targeting merge the shards in order. Device record and history names: device-keys.ts.
import { slotKey } from '../keys.js';
import { deviceShardTag } from './device-shard.js';

/** A sorted set (score 0, lexicographic: cursor paging with ZRANGEBYLEX) of device ids. */
export type DeviceIndex =
  | { kind: 'all' }
  | { kind: 'group'; name: string }
  | { kind: 'tag'; name: string }
  | { kind: 'class'; vendorId: string; classId: string }
  | { kind: 'revoked' };

/** The shard's part of an index. */
export function indexKey(prefix: string, shard: number, index: DeviceIndex): string {
  const tag = deviceShardTag(shard);
  switch (index.kind) {
    case 'all':
      return slotKey(prefix, tag, 'devices');
    case 'group':
      return slotKey(prefix, tag, 'devices', 'group', index.name);
    case 'tag':
      return slotKey(prefix, tag, 'devices', 'tag', index.name);
    case 'class':
      return slotKey(prefix, tag, 'devices', 'class', `${index.vendorId}/${index.classId}`);
    case 'revoked':
      return slotKey(prefix, tag, 'devices', 'revoked');
  }
}

/** Set of `vendorId/classId` pairs the shard has devices of (filters by vendorId or classId alone). */
export function classesKey(prefix: string, shard: number): string {
  return slotKey(prefix, deviceShardTag(shard), 'devices', 'classes');
}

/**
 * Sorted set of the shard's device ids by the time (Redis' clock, ms) each last changed in a
 * way that can make it match a target: registered, groups / tags / attributes changed, reported
 * attributes or installed release changed (device-changes.ts). Dynamic rollouts read it.
 */
export function changedKey(prefix: string, shard: number): string {
  return slotKey(prefix, deviceShardTag(shard), 'devices', 'changed');
}

/**
 * Hash of the shard's fleet counters (fleet-counters.ts): `total`, `revoked`, `online`,
 * `offline`, `class:<vendorId>/<classId>`, `release:<releaseId>` (`release:` for none reported).
 * Kept by the scripts that change a device, in the same call, so they are exact at all times.
 */
export function fleetCountersKey(prefix: string, shard: number): string {
  return slotKey(prefix, deviceShardTag(shard), 'devices', 'counters');
}

/** The shard's counters being recounted (recount-fleet-counters.ts), renamed over fleetCountersKey when done. */
export function fleetRecountKey(prefix: string, shard: number): string {
  return slotKey(prefix, deviceShardTag(shard), 'devices', 'counters', 'recount');
}

/** Pub/sub channel: a revoked device id is published here; caches and brokers drop it at once. */
export function revokedChannel(prefix: string): string {
  return `${prefix}events:device-revoked`;
}
