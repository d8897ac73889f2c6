// Test helpers for the event stream and metrics tests: a unique Redis prefix with cleanup, a
// minimal fastify app that decorates `requireRole` from the real token store (as the app does),
// and a small streaming SSE client over fetch that keeps ids, data and comments.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createToken, lookupToken, roleAllows, type ApiRole } from '../../../orchestrator/auth/tokens.js';
import { deleteKeysWithPrefix } from '../../../state/redis.js';

export function testPrefix(area: string): string {
  return `test:${area}:${randomBytes(4).toString('hex')}:`;
}

export function testRedis(name?: string): Redis {
  return new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null, ...(name ? { connectionName: name } : {}) });
}

/** SCAN + DEL of every key under the prefix (never FLUSHALL). */
export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  await deleteKeysWithPrefix(redis, prefix);
}

/** Bearer auth like the orchestrator app: 401 without a known token, 403 for a weaker role. */
export async function appWithRoles(redis: Redis, prefix: string): Promise<{ app: FastifyInstance; tokens: Record<ApiRole, string> }> {
  const app = Fastify({ logger: false });
  app.decorate('requireRole', (role: ApiRole) => Object.assign(async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    const record = await lookupToken(redis, prefix, token);
    if (!record) return reply.code(401).send({ code: 'unauthorized', message: 'a valid bearer token is required' });
    if (!roleAllows(record.role, role)) return reply.code(403).send({ code: 'forbidden', message: `needs ${role}` });
  }, { requiredRole: role }));
  const tokens = {
    operator: (await createToken(redis, prefix, 'operator')).token,
    read: (await createToken(redis, prefix, 'read')).token,
  };
  return { app, tokens };
}

export interface SseMessage {
  id?: string;
  data: unknown;
}

/** A streaming SSE reader (WHATWG §9.2.6 field parsing, enough for our server's output). */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  private readonly controller = new AbortController();
  private waiters: Array<() => void> = [];
  private done: Promise<void> = Promise.resolve();
  ended = false;

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: client.controller.signal });
    client.status = response.status;
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      client.ended = true;
      return client;
    }
    client.done = client.read(response.body);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          this.parse(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
        this.wake();
      }
    } catch {
      // aborted by close()
    } finally {
      this.ended = true;
      this.wake();
    }
  }

  private parse(block: string): void {
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('id: ')) id = line.slice(4);
      else if (line.startsWith('data: ')) data.push(line.slice(6));
    }
    if (data.length > 0) this.messages.push({ ...(id !== undefined ? { id } : {}), data: JSON.parse(data.join('\n')) });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves when `predicate` holds, rejects after `timeoutMs`. */
  async until(predicate: (client: SseClient) => boolean, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      if (this.ended) throw new Error('stream ended before the condition held');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`condition not met in ${timeoutMs} ms (${this.messages.length} messages)`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}
