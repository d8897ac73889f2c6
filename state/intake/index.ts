// The sharded status intake in Redis: layout and shard hash, the batched writer, membership and
// shard leases of the ingestion group, and the stream operations ingestion reads with.
export * from './layout.js';
export * from './intake-writer.js';
export * from './shard-leases.js';
export * from './shard-streams.js';
