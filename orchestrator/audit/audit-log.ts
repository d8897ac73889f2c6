// The audit log: every operator action (who, when, what, on what, why) in one capped Redis
// Stream under the key prefix. Actors are named by token id and label, never by the token.
// Reads page newest first with optional action/target filters; writes never block an action.
import type { RedisClient as Redis } from '../../state/redis.js';
import { auditLogKey, JsonStream } from '../../state/logs/index.js';
import type { ApiRole } from '../auth/tokens.js';

/** Entries kept; older ones are trimmed (approximately, as Redis does cheaply: XADD MAXLEN ~). */
export const AUDIT_LOG_MAX_LENGTH = 100_000;
/** Largest page a reader gets. */
export const AUDIT_PAGE_MAX = 200;
/** Stream entries examined per filtered read, so a rare filter cannot scan the whole log at once. */
export const AUDIT_SCAN_MAX = 5_000;
/** Longest reason kept (the rollout actions accept 256). */
export const AUDIT_REASON_MAX_CHARS = 256;

export const AUDIT_ACTIONS = [
  'rollout.create', 'rollout.start', 'rollout.pause', 'rollout.resume', 'rollout.abort', 'rollout.approve',
  'device.register', 'device.import', 'device.update', 'device.revoke',
  'release.import', 'root.publish',
  'token.create', 'token.revoke',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Who acted: an API token (id = first hash characters, label) or the local CLI talking to Redis. */
export interface AuditActor {
  via: 'api' | 'cli';
  tokenId?: string;
  label?: string;
  role?: ApiRole;
}

export interface AuditInput {
  actor: AuditActor;
  action: AuditAction;
  target: string;
  reason?: string | undefined;
  /** Small facts about the outcome (counts, a version), never a secret. */
  detail?: Record<string, string | number | boolean> | undefined;
}

export interface AuditEntry extends AuditInput {
  /** Stream id: unique, time-ordered, the paging cursor. */
  id: string;
  at: string;
}

export interface AuditQuery {
  limit?: number;
  /** Only entries older than this id (the previous page's `next`). */
  before?: string;
  action?: string;
  target?: string;
}

export class AuditLog {
  private readonly stream: JsonStream;
  constructor(redis: Redis, prefix: string) {
    this.stream = new JsonStream(redis, auditLogKey(prefix), AUDIT_LOG_MAX_LENGTH);
  }

  async record(input: AuditInput, at = new Date()): Promise<string> {
    const reason = input.reason?.slice(0, AUDIT_REASON_MAX_CHARS);
    const data = JSON.stringify({ ...input, ...(reason ? { reason } : { reason: undefined }), at: at.toISOString() });
    return this.stream.append(data);
  }

  /**
   * Newest first; `next` is the cursor for older entries, absent once the log ends. A filtered read
   * stops after AUDIT_SCAN_MAX entries and returns `next` then, possibly with a short page.
   */
  async list(query: AuditQuery = {}): Promise<{ entries: AuditEntry[]; next?: string }> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), AUDIT_PAGE_MAX);
    const entries: AuditEntry[] = [];
    let before = query.before;
    let scanned = 0;
    let lastId: string | undefined;
    while (entries.length < limit && scanned < AUDIT_SCAN_MAX) {
      const batch = Math.min(AUDIT_SCAN_MAX - scanned, query.action || query.target ? 500 : limit - entries.length);
      const rows = await this.stream.before(before, batch);
      if (rows.length === 0) return { entries };
      for (const { id, data } of rows) {
        scanned++;
        lastId = id;
        const entry = parseEntry(id, data);
        if (!entry || (query.action && entry.action !== query.action) || (query.target && entry.target !== query.target)) continue;
        entries.push(entry);
        if (entries.length === limit) break;
      }
      before = lastId;
      if (rows.length < batch) return { entries };
    }
    return lastId ? { entries, next: lastId } : { entries };
  }
}

function parseEntry(id: string, data: string): AuditEntry | undefined {
  try {
    const value = JSON.parse(data) as Omit<AuditEntry, 'id'>;
    return { id, ...value };
  } catch {
    return undefined;
  }
}
