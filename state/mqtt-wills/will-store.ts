// The broker's last wills in Redis, one hash for the deployment keyed by client id, and the broker
// runs that own them (docs/design.md#broker-wills). Replaces aedes-persistence-redis' will list,
// whose connect did an O(N) LREM on one list and whose sweep read only its first 10,000 entries:
// here a connect is one HSET that also overrides the will any earlier connection of the same
// client left (on this node or another, dead or alive), a disconnect one conditional HDEL, and a
// sweep HSCANs every will. Each broker run heartbeats in a sorted set scored by when its lease
// runs out (Redis' clock, so process clocks never matter); a will whose run is not live is an
// orphan, published once by whichever node claims it (a conditional HDEL on the exact value).
// Every script touches one declared key (Redis Cluster safe); `namespace` is the broker's MQTT
// key namespace (`${prefix}mqtt:`).
import type { RedisClient as Redis } from '../redis.js';
import { slotKey } from '../keys.js';
import { luaScript, runLua } from '../lua.js';

/** A will as stored: what to publish for `clientId` when the connection of `run` is lost. */
export interface StoredWill {
  clientId: string;
  run: string;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

/** Wills by client id: `run|json` (run ids never hold `|`). */
export function willsKey(namespace: string): string {
  return slotKey(namespace, 'wills', 'by-client');
}

/** Live broker runs, scored by the time their lease runs out (ms, Redis clock). */
export function willRunsKey(namespace: string): string {
  return slotKey(namespace, 'wills', 'runs');
}

/** heartbeat(KEYS[1] runs; ARGV run, leaseMs) -> 1 when the run's lease was still running, 0 when it had lapsed (or is new). */
const HEARTBEAT = luaScript('willRunHeartbeat', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_ = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]))
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
if until_ and until_ > now then return 1 end
return 0
`);

/** deadRuns(KEYS[1] runs) -> runs whose lease has run out (their wills are orphans until swept). */
const DEAD_RUNS = luaScript('willDeadRuns', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
`);

/** liveRuns(KEYS[1] runs) -> runs whose lease has not run out. */
const LIVE_RUNS = luaScript('willLiveRuns', `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`);


/** delete(KEYS[1] wills; ARGV clientId, run) -> the value when it was that run's, and is now gone. */
const DELETE_OWN = luaScript('willDeleteOwn', `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v and string.sub(v, 1, #ARGV[2] + 1) == ARGV[2] .. '|' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return v
end
return false
`);

/**
 * claim(KEYS[1] wills; ARGV clientId1, value1, clientId2, value2, ...) -> per pair 1 when the will
 * was exactly that value and is now the caller's, else 0.
 */
const CLAIM = luaScript('willClaim', `
local out = {}
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i + 1] then
    redis.call('HDEL', KEYS[1], ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
`);

interface WillJson {
  t: string;
  p: string;
  q: 0 | 1 | 2;
  r: boolean;
}

function encode(run: string, will: Omit<StoredWill, 'clientId' | 'run'>): string {
  const json: WillJson = { t: will.topic, p: will.payload.toString('base64'), q: will.qos, r: will.retain };
  return `${run}|${JSON.stringify(json)}`;
}

/** The stored value, or undefined for one this code did not write (left alone). */
export function decodeWill(clientId: string, value: string): StoredWill | undefined {
  const bar = value.indexOf('|');
  if (bar <= 0) return undefined;
  try {
    const json = JSON.parse(value.slice(bar + 1)) as Partial<WillJson>;
    if (typeof json.t !== 'string' || typeof json.p !== 'string' || (json.q !== 0 && json.q !== 1 && json.q !== 2) || typeof json.r !== 'boolean') return undefined;
    return { clientId, run: value.slice(0, bar), topic: json.t, payload: Buffer.from(json.p, 'base64'), qos: json.q, retain: json.r };
  } catch {
    return undefined;
  }
}

/** One HSCAN page of wills; `cursor` '0' starts and ends a scan. */
export interface WillPage {
  cursor: string;
  entries: Array<{ clientId: string; value: string }>;
}

export class WillStore {
  private readonly wills: string;
  private readonly runs: string;

  constructor(private readonly redis: Redis, namespace: string) {
    this.wills = willsKey(namespace);
    this.runs = willRunsKey(namespace);
  }

  /** Records (or renews) `run` as live for `leaseMs`: false when its lease had lapsed (or it is new). */
  async heartbeat(run: string, leaseMs: number): Promise<boolean> {
    return (await runLua(this.redis, HEARTBEAT, [this.runs], [run, leaseMs])) === 1;
  }

  /** Ends `run`'s lease at once (a clean stop): it counts as dead, so a will it left is swept. */
  async expire(run: string): Promise<void> {
    await this.redis.zadd(this.runs, 0, run);
  }

  async liveRuns(): Promise<Set<string>> {
    return new Set((await runLua(this.redis, LIVE_RUNS, [this.runs], [])) as string[]);
  }

  async deadRuns(): Promise<string[]> {
    return (await runLua(this.redis, DEAD_RUNS, [this.runs], [])) as string[];
  }

  /** Drops runs seen dead before a sweep that has since read every will (a run id is never reused). */
  async forget(runs: readonly string[]): Promise<void> {
    if (runs.length > 0) await this.redis.zrem(this.runs, ...runs);
  }

  /** The will of `clientId`'s connection on `run`: replaces whatever will any connection of that client left. */
  async put(run: string, clientId: string, will: Omit<StoredWill, 'clientId' | 'run'>): Promise<void> {
    await this.redis.hset(this.wills, clientId, encode(run, will));
  }

  /** The will of `clientId`, when it is `run`'s. */
  async get(run: string, clientId: string): Promise<StoredWill | undefined> {
    const value = await this.redis.hget(this.wills, clientId);
    const will = value === null ? undefined : decodeWill(clientId, value);
    return will?.run === run ? will : undefined;
  }

  /** The run whose connection of `clientId` holds its will now, if any. */
  async currentRun(clientId: string): Promise<string | undefined> {
    return (await this.currentRuns([clientId]))[0];
  }

  /** currentRun of each client id, in order (one HMGET). */
  async currentRuns(clientIds: readonly string[]): Promise<Array<string | undefined>> {
    if (clientIds.length === 0) return [];
    const values = await this.redis.hmget(this.wills, ...clientIds);
    return values.map((value, i) => (value === null ? undefined : decodeWill(clientIds[i]!, value)?.run));
  }

  /** Deletes the will of `clientId` when it is `run`'s (a newer connection's is left alone). */
  async deleteOwn(run: string, clientId: string): Promise<StoredWill | undefined> {
    const value = (await runLua(this.redis, DELETE_OWN, [this.wills], [clientId, run])) as string | null;
    return value === null ? undefined : decodeWill(clientId, value);
  }

  /**
   * Takes wills for publishing, each only if still exactly the value read (no newer connection
   * overrode it) and for exactly one caller across nodes: the entries claimed.
   */
  async claim(entries: ReadonlyArray<{ clientId: string; value: string }>): Promise<Array<{ clientId: string; value: string }>> {
    if (entries.length === 0) return [];
    const taken = (await runLua(this.redis, CLAIM, [this.wills], entries.flatMap((e) => [e.clientId, e.value]))) as number[];
    return entries.filter((_, i) => taken[i] === 1);
  }

  async scan(cursor: string, count: number): Promise<WillPage> {
    const [next, flat] = await this.redis.hscan(this.wills, cursor, 'COUNT', count);
    const entries: WillPage['entries'] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ clientId: flat[i]!, value: flat[i + 1]! });
    return { cursor: next, entries };
  }

  async size(): Promise<number> {
    return this.redis.hlen(this.wills);
  }
}
