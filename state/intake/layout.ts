// Where intake reports live in Redis: S streams sharded by device id, each under its own hash tag
// (state/keys.ts) so a Redis Cluster spreads them. One device always maps to one shard, so its
// reports stay in the order they were written. Shard count, key names and the hash are defined
// here only; the broker (edge writer), the MQTT bridge and ingestion all go through it.
import type { RedisClient as Redis } from '../redis.js';
import { slotKey } from '../keys.js';
import { fnv1a32 } from '../registry/device-shard.js';
import { FleetError } from '../../runtime/errors.js';

/** Default shard count (FLEET_INTAKE_SHARDS): more shards than orchestrators, so work spreads. */
export const DEFAULT_INTAKE_SHARDS = 16;
/** Upper bound for the setting: each shard is a stream, a lease and a slot in every read. */
export const MAX_INTAKE_SHARDS = 1_024;

/** Consumer group every orchestrator reads the shards as. */
export const INTAKE_GROUP = 'ingest';

export interface IntakeLayout {
  prefix: string;
  shards: number;
}

/** A shard count out of range, or not the one this deployment's streams were written with. */
export class IntakeLayoutError extends FleetError<'intake_shard_count'> {
  constructor(message: string) {
    super('intake_shard_count', message);
  }
}

/**
 * FNV-1a 32 of the device id's UTF-8 bytes (the registry's hash, state/registry/device-shard.ts),
 * modulo the shard count. Fixed for a deployment: a device that changed shard while reports were
 * queued could be applied out of order, so the count is pinned in Redis (ensureIntakeLayout).
 */
export function shardOf(deviceId: string, shards: number): number {
  return fnv1a32(deviceId) % shards;
}

/** The stream of shard `shard`: `${prefix}{intake:N}`. */
export function intakeStreamKey(prefix: string, shard: number): string {
  return slotKey(prefix, `intake:${shard}`);
}

/** Who reads shard `shard` now (SET NX PX, renewed by its owner): beside its stream, same slot. */
export function intakeLeaseKey(prefix: string, shard: number): string {
  return slotKey(prefix, `intake:${shard}`, 'lease');
}

/** Sorted set of live ingestion members, scored by the time their heartbeat expires (ms, Redis clock). */
export function intakeMembersKey(prefix: string): string {
  return slotKey(prefix, 'intake', 'members');
}

/** Which orchestrator runs the deployment's one MQTT intake bridge (FLEET_INTAKE_MODE=bridge). */
export function intakeBridgeLeaseKey(prefix: string): string {
  return slotKey(prefix, 'intake', 'bridge');
}

/** The shard count this deployment's streams were written with. */
export function intakeShardsKey(prefix: string): string {
  return slotKey(prefix, 'intake', 'shards');
}

/** Ingestion outcome counters (applied, stale, ...), summed over every orchestrator. */
export function ingestOutcomesKey(prefix: string): string {
  return `${prefix}ingest:outcomes`;
}

export function allIntakeStreamKeys(layout: IntakeLayout): string[] {
  return Array.from({ length: layout.shards }, (_, shard) => intakeStreamKey(layout.prefix, shard));
}

export function validShardCount(shards: number): boolean {
  return Number.isInteger(shards) && shards >= 1 && shards <= MAX_INTAKE_SHARDS;
}

/**
 * Pins the shard count on first use and checks it afterwards: every writer and reader of one
 * deployment must agree, or a device's reports would land in two shards. Changing it means
 * draining the streams first (README: configuration).
 */
export async function ensureIntakeLayout(redis: Redis, prefix: string, shards = DEFAULT_INTAKE_SHARDS): Promise<IntakeLayout> {
  if (!validShardCount(shards)) throw new IntakeLayoutError(`intake shard count must be an integer from 1 to ${MAX_INTAKE_SHARDS}, not ${shards}`);
  const key = intakeShardsKey(prefix);
  await redis.set(key, String(shards), 'NX');
  const stored = Number(await redis.get(key));
  if (stored !== shards) {
    throw new IntakeLayoutError(`FLEET_INTAKE_SHARDS is ${shards} but this deployment's intake streams were written with ${stored} shards (${key}); use ${stored}, or drain the streams and delete that key to change it`);
  }
  return { prefix, shards };
}

/** The pinned layout, or undefined when nothing has written or read the intake yet (metrics). */
export async function readIntakeLayout(redis: Redis, prefix: string): Promise<IntakeLayout | undefined> {
  const stored = Number(await redis.get(intakeShardsKey(prefix)));
  return validShardCount(stored) ? { prefix, shards: stored } : undefined;
}
