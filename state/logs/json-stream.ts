// A capped Redis Stream of JSON entries (one field, `e`): the shape of the event log and the
// audit log. Appends trim approximately (XADD MAXLEN ~, cheap for Redis); reads page by stream
// id, which doubles as the cursor (and as the SSE event id). Entries are JSON text here: the
// orchestrator encodes and decodes them.
import type { RedisClient as Redis } from '../redis.js';

/** One entry: its stream id and its JSON text ('' when the entry has no `e` field). */
export interface StreamEntry {
  id: string;
  data: string;
}

/** What XINFO STREAM says about trimming (undefined: no stream yet). */
export interface StreamTrimInfo {
  lastGeneratedId: string;
  /** Oldest entry still held, if any. */
  firstId?: string;
  /** Entries ever added minus those held: more than 0 once anything was trimmed. */
  dropped: number;
}

const toEntries = (rows: Array<[string, string[]]>): StreamEntry[] => rows.map(([id, fields]) => ({ id, data: fields[1] ?? '' }));

export class JsonStream {
  constructor(private readonly redis: Redis, readonly key: string, private readonly maxLength: number) {}

  /** Appends one entry; returns its id. */
  async append(data: string): Promise<string> {
    return (await this.redis.xadd(this.key, 'MAXLEN', '~', this.maxLength, '*', 'e', data)) as string;
  }

  /** Entries after `afterId` (exclusive), oldest first. */
  async after(afterId: string, count: number): Promise<StreamEntry[]> {
    return toEntries(await this.redis.xrange(this.key, `(${afterId}`, '+', 'COUNT', count));
  }

  /** Entries older than `beforeId` (exclusive; undefined: from the newest), newest first. */
  async before(beforeId: string | undefined, count: number): Promise<StreamEntry[]> {
    return toEntries(await this.redis.xrevrange(this.key, beforeId === undefined ? '+' : `(${beforeId}`, '-', 'COUNT', count));
  }

  /** Blocks up to `blockMs` for entries after `afterId` ('$' = only new ones) on `reader`, a connection of its own. */
  async wait(reader: Redis, afterId: string, blockMs: number, count: number): Promise<StreamEntry[]> {
    const reply = (await reader.xread('COUNT', count, 'BLOCK', blockMs, 'STREAMS', this.key, afterId)) as Array<[string, Array<[string, string[]]>]> | null;
    return reply ? toEntries(reply[0]![1]) : [];
  }

  /** The newest entry's id ('0-0' when empty). */
  async lastId(): Promise<string> {
    const rows = await this.redis.xrevrange(this.key, '+', '-', 'COUNT', 1);
    return rows[0]?.[0] ?? '0-0';
  }

  async trimInfo(): Promise<StreamTrimInfo | undefined> {
    let flat: unknown[];
    try {
      flat = (await this.redis.call('XINFO', 'STREAM', this.key)) as unknown[];
    } catch (error) {
      // No stream yet: nothing was ever trimmed.
      if (String((error as Error).message).includes('no such key')) return undefined;
      throw error;
    }
    const info = new Map<string, unknown>();
    for (let i = 0; i + 1 < flat.length; i += 2) info.set(String(flat[i]), flat[i + 1]);
    const first = info.get('first-entry');
    const length = Number(info.get('length') ?? 0);
    // Redis >= 7.0 reports entries-added; older servers give no way to tell, so assume trimming.
    const added = info.has('entries-added') ? Number(info.get('entries-added')) : Number.MAX_SAFE_INTEGER;
    return {
      lastGeneratedId: String(info.get('last-generated-id') ?? '0-0'),
      ...(Array.isArray(first) && typeof first[0] === 'string' ? { firstId: first[0] } : {}),
      dropped: added - length,
    };
  }
}
