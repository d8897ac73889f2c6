// Stream operations of ingestion on the sharded intake (layout.ts): consumer groups, reads of the
// shards a member holds, claiming what a previous owner left pending, acknowledging what was
// applied. Entries carry `t` (topic), `p` (payload) and `r` (receive time, ms) as written by
// intake-writer.ts.
import type { RedisClient as Redis } from '../redis.js';
import { INTAKE_GROUP, intakeStreamKey, type IntakeLayout } from './layout.js';

export interface IntakeEntry {
  shard: number;
  id: string;
  topic: string;
  payload: Buffer;
  receivedAt: number;
}

type RawEntry = [id: Buffer, fields: Buffer[]] | null;

function decode(shard: number, raw: RawEntry): IntakeEntry | undefined {
  if (!raw || !raw[1]) return undefined;
  const [id, fields] = raw;
  let topic = '';
  let payload: Buffer = Buffer.alloc(0);
  let receivedAt = Number.NaN;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const name = fields[i]!.toString();
    if (name === 't') topic = fields[i + 1]!.toString();
    else if (name === 'p') payload = fields[i + 1]!;
    else if (name === 'r') receivedAt = Number(fields[i + 1]!.toString());
  }
  return { shard, id: id.toString(), topic, payload, receivedAt: Number.isFinite(receivedAt) ? receivedAt : Number(id.toString().split('-')[0]) };
}

/** Creates the consumer group on every shard stream (and the streams), once per deployment. */
export async function ensureIntakeGroups(redis: Redis, layout: IntakeLayout): Promise<void> {
  await Promise.all(
    Array.from({ length: layout.shards }, async (_, shard) => {
      try {
        await redis.xgroup('CREATE', intakeStreamKey(layout.prefix, shard), INTAKE_GROUP, '0', 'MKSTREAM');
      } catch (error) {
        if (!String((error as Error).message).includes('BUSYGROUP')) throw error;
      }
    }),
  );
}

/**
 * New entries of the given shards for `consumer`, at most `count` per shard, waiting up to
 * `blockMs` when there are none. One XREADGROUP over several streams: on a Redis Cluster the
 * shards live in different slots, and a member reads them one command per shard instead
 * (`perShard`).
 */
export async function readShards(redis: Redis, prefix: string, shards: readonly number[], consumer: string, count: number, blockMs: number, perShard = false): Promise<IntakeEntry[]> {
  if (shards.length === 0) return [];
  const read = async (group: readonly number[], block: boolean): Promise<IntakeEntry[]> => {
    const keys = group.map((shard) => intakeStreamKey(prefix, shard));
    const args: Array<string | number> = ['GROUP', INTAKE_GROUP, consumer, 'COUNT', count, ...(block ? ['BLOCK', blockMs] : []), 'STREAMS', ...keys, ...keys.map(() => '>')];
    const reply = (await (redis.xreadgroupBuffer as (...a: Array<string | number>) => Promise<unknown>)(...args)) as Array<[Buffer, RawEntry[]]> | null;
    const out: IntakeEntry[] = [];
    for (const [key, entries] of reply ?? []) {
      const shard = group[keys.indexOf(key.toString())]!;
      for (const raw of entries) {
        const entry = decode(shard, raw);
        if (entry) out.push(entry);
      }
    }
    return out;
  };
  if (!perShard) return read(shards, true);
  const parts = await Promise.all(shards.map((shard) => read([shard], false)));
  const all = parts.flat();
  if (all.length === 0) await new Promise((resolve) => setTimeout(resolve, blockMs));
  return all;
}

/**
 * Takes over every entry of `shard` still pending for any consumer (a previous owner that died
 * or was paused past its lease), oldest first, from `cursor`: call it after taking a shard's
 * lease and before reading new entries, so the device order holds. Returns the next cursor
 * ('0-0' when done).
 */
export async function claimPending(redis: Redis, prefix: string, shard: number, consumer: string, cursor: string, count: number): Promise<{ next: string; entries: IntakeEntry[] }> {
  const [next, raw] = (await redis.callBuffer('XAUTOCLAIM', intakeStreamKey(prefix, shard), INTAKE_GROUP, consumer, 0, cursor, 'COUNT', count)) as unknown as [Buffer, RawEntry[]];
  const entries: IntakeEntry[] = [];
  for (const item of raw) {
    const entry = decode(shard, item);
    if (entry) entries.push(entry);
  }
  return { next: next.toString(), entries };
}

/** Queues XACK + XDEL of applied entries on `pipe` (entries are deleted once applied: the stream is a queue). */
export function queueAcks(pipe: ReturnType<Redis['pipeline']>, prefix: string, entries: readonly IntakeEntry[]): void {
  const byShard = new Map<number, string[]>();
  for (const entry of entries) {
    const ids = byShard.get(entry.shard);
    if (ids) ids.push(entry.id);
    else byShard.set(entry.shard, [entry.id]);
  }
  for (const [shard, ids] of byShard) {
    const key = intakeStreamKey(prefix, shard);
    pipe.xack(key, INTAKE_GROUP, ...ids);
    pipe.xdel(key, ...ids);
  }
}

/** Entries waiting (written, not yet applied) and the oldest one's receive time, over all shards. */
export async function intakeBacklog(redis: Redis, layout: IntakeLayout): Promise<{ messages: number; oldestMs: number | undefined }> {
  const pipe = redis.pipeline();
  for (let shard = 0; shard < layout.shards; shard++) {
    const key = intakeStreamKey(layout.prefix, shard);
    pipe.xlen(key);
    pipe.xrange(key, '-', '+', 'COUNT', 1);
  }
  const replies = (await pipe.exec()) ?? [];
  let messages = 0;
  let oldestMs: number | undefined;
  for (let i = 0; i < replies.length; i += 2) {
    messages += Number(replies[i]?.[1] ?? 0);
    const first = (replies[i + 1]?.[1] as Array<[string, string[]]> | undefined)?.[0];
    const ms = Number(first?.[0].split('-')[0]);
    if (Number.isFinite(ms) && ms > 0 && (oldestMs === undefined || ms < oldestMs)) oldestMs = ms;
  }
  return { messages, oldestMs };
}

/** Consumers of a shard's group that are not live members and hold nothing pending: forgotten. */
export async function forgetIdleConsumers(redis: Redis, prefix: string, shard: number, live: ReadonlySet<string>): Promise<void> {
  const key = intakeStreamKey(prefix, shard);
  const consumers = (await redis.xinfo('CONSUMERS', key, INTAKE_GROUP)) as unknown[][];
  for (const info of consumers) {
    const fields = new Map<string, unknown>();
    for (let i = 0; i + 1 < info.length; i += 2) fields.set(String(info[i]), info[i + 1]);
    const name = String(fields.get('name'));
    if (!live.has(name) && Number(fields.get('pending')) === 0) await redis.xgroup('DELCONSUMER', key, INTAKE_GROUP, name);
  }
}
