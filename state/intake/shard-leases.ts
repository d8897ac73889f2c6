// Membership and shard leases of the ingestion group: each orchestrator heartbeats in one sorted
// set (scored by when its heartbeat runs out, on Redis' clock, so process clocks never matter)
// and holds a lease per shard it reads (SET NX PX, renewed by its owner, released only by its
// owner). A lease makes one member at a time the reader of a shard, so a device's reports are
// applied in order; a member that dies stops renewing, and its shards pass to the others once
// its heartbeat and leases run out. Every script touches one declared key (Redis Cluster safe).
import type { RedisClient as Redis } from '../redis.js';
import { intakeLeaseKey, intakeMembersKey } from './layout.js';

/** heartbeat(KEYS[1] members; ARGV member, ttlMs) -> live members (in score order). */
const HEARTBEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 4)
return redis.call('ZRANGE', KEYS[1], 0, -1)
`;

/** holdLease(KEYS[1] lease; ARGV member, ttlMs) -> 1 when the caller holds it now (taken or renewed). */
const HOLD = `
local owner = redis.call('GET', KEYS[1])
if owner == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if owner then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** renewLease(KEYS[1] lease; ARGV member, ttlMs) -> 1 when still the caller's (never takes a free one). */
const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** releaseLease(KEYS[1] lease; ARGV member) -> 1 when it was the caller's and is now free. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

type LeaseCommands = {
  intakeHeartbeat(key: string, member: string, ttlMs: number): Promise<string[]>;
  intakeHoldLease(key: string, member: string, ttlMs: number): Promise<number>;
  intakeRenewLease(key: string, member: string, ttlMs: number): Promise<number>;
  intakeReleaseLease(key: string, member: string): Promise<number>;
};

function commands(redis: Redis): LeaseCommands {
  const target = redis as unknown as Record<string, unknown>;
  if (typeof target.intakeHeartbeat !== 'function') {
    redis.defineCommand('intakeHeartbeat', { numberOfKeys: 1, lua: HEARTBEAT });
    redis.defineCommand('intakeHoldLease', { numberOfKeys: 1, lua: HOLD });
    redis.defineCommand('intakeRenewLease', { numberOfKeys: 1, lua: RENEW });
    redis.defineCommand('intakeReleaseLease', { numberOfKeys: 1, lua: RELEASE });
  }
  return redis as unknown as LeaseCommands;
}

/** Records `member` alive for `ttlMs` and returns every live member (sorted by name, `member` included). */
export async function heartbeatMember(redis: Redis, prefix: string, member: string, ttlMs: number): Promise<string[]> {
  // Sorted here, by name: the set's own order is by expiry, which each member sees differently.
  return (await commands(redis).intakeHeartbeat(intakeMembersKey(prefix), member, ttlMs)).sort();
}

/** Takes a member out of the group at once (a clean stop), so the others need not wait out its heartbeat. */
export async function leaveMembers(redis: Redis, prefix: string, member: string): Promise<void> {
  await redis.zrem(intakeMembersKey(prefix), member);
}

/** Takes the lease at `key` when it is free (or renews it when already held): true when held. */
export async function holdLease(redis: Redis, key: string, member: string, ttlMs: number): Promise<boolean> {
  return (await commands(redis).intakeHoldLease(key, member, ttlMs)) === 1;
}

/** Frees the lease at `key` if `member` holds it. */
export async function releaseLease(redis: Redis, key: string, member: string): Promise<void> {
  await commands(redis).intakeReleaseLease(key, member);
}

/** Takes shard `shard`'s lease when it is free (or renews it when already held): true when held. */
export async function holdShardLease(redis: Redis, prefix: string, shard: number, member: string, ttlMs: number): Promise<boolean> {
  return holdLease(redis, intakeLeaseKey(prefix, shard), member, ttlMs);
}

/** Renews the leases `member` holds; returns the shards it no longer holds (expired or taken). */
export async function renewShardLeases(redis: Redis, prefix: string, shards: readonly number[], member: string, ttlMs: number): Promise<number[]> {
  const held = await Promise.all(shards.map((shard) => commands(redis).intakeRenewLease(intakeLeaseKey(prefix, shard), member, ttlMs)));
  return shards.filter((_, i) => held[i] !== 1);
}

export async function releaseShardLease(redis: Redis, prefix: string, shard: number, member: string): Promise<void> {
  await releaseLease(redis, intakeLeaseKey(prefix, shard), member);
}

/**
 * The shards `member` should read: shard i goes to the (i mod n)-th live member in sorted order,
 * an exactly fair split that every member computes alike from the same member list.
 */
export function assignedShards(members: readonly string[], member: string, shards: number): number[] {
  const index = [...members].sort().indexOf(member);
  if (index < 0) return [];
  const mine: number[] = [];
  for (let shard = index; shard < shards; shard += members.length) mine.push(shard);
  return mine;
}
