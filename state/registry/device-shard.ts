// Which device shard a device id belongs to. Redis Cluster places keys by their hash tag, so a
// device's record, its history and the registry's per-shard indexes share the tag `dev:<shard>`
// and spread over the cluster; a script that touches one device touches one slot.
//
// The hash is fixed for the life of a deployment: changing DEVICE_SHARD_COUNT or the hash moves
// every device's keys. FNV-1a 32 (http://www.isthe.com/chongo/tech/comp/fnv/, the IETF draft
// draft-eastlake-fnv) over the id's UTF-8 bytes, modulo DEVICE_SHARD_COUNT. Hand-written rather
// than a dependency: eight lines, and the exact bytes-to-shard rule must never change under us.

/** Number of device shards. 16 spreads a fleet over a cluster of up to 16 primaries. */
export const DEVICE_SHARD_COUNT = 16;

const FNV_OFFSET_BASIS = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
const utf8 = new TextEncoder();

/** FNV-1a 32-bit hash of the UTF-8 bytes of `text` (an unsigned 32-bit integer). */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    // Math.imul keeps the product in 32 bits (a plain * would lose low bits past 2^53).
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

/** The shard (0 .. DEVICE_SHARD_COUNT - 1) that holds `deviceId`'s keys. */
export function deviceShard(deviceId: string): number {
  return fnv1a32(deviceId) % DEVICE_SHARD_COUNT;
}

/** Hash tag of a shard: every key of the shard's devices and indexes carries `{dev:<shard>}`. */
export function deviceShardTag(shard: number): string {
  return `dev:${shard}`;
}

/** Every shard, in order: listings and targeting merge the shards' indexes in this order. */
export const DEVICE_SHARDS: readonly number[] = Array.from({ length: DEVICE_SHARD_COUNT }, (_, shard) => shard);
