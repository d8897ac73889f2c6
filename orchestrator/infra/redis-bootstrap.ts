// Finds a Redis for the one-command paths (demo, serve, sim): REDIS_URL if it answers PING,
// else a private `redis-server` on a free loopback port, started here and stopped on stop() or exit.
// It does not check the eviction policy of a Redis it did not start (redis.ts: assertNoEviction).
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { Redis } from 'ioredis';
import { isClusterUrl, redactRedisUrl } from '../../state/redis-url.js';

export { redactRedisUrl };
import { DEFAULT_REDIS_URL } from '../../state/redis.js';
import { FleetError } from '../../runtime/errors.js';
import type { Logger } from '../../runtime/logger.js';

/** Named timings with safe defaults (STYLE.md §7). */
export const REDIS_BOOTSTRAP_DEFAULTS = {
  /** How long an existing Redis gets to answer PING before we treat it as absent. */
  pingTimeoutMs: 1_000,
  /** How long a private redis-server gets to start answering PING. */
  startTimeoutMs: 10_000,
  /** Poll interval while waiting for the private server. */
  startPollMs: 50,
  /** After SIGTERM, how long before SIGKILL. */
  stopTimeoutMs: 3_000,
  /** A free port can be taken between our probe and redis-server's bind: retry that many times. */
  startAttempts: 3,
  redisServer: 'redis-server',
} as const;

export interface EnsureRedisOptions {
  /** Default: REDIS_URL, else redis://127.0.0.1:6379. */
  url?: string;
  logger?: Logger;
  /** Start a private redis-server when none answers (default true). */
  allowSpawn?: boolean;
  /** Command name (looked up on PATH) or path of the server binary. */
  redisServer?: string;
  pingTimeoutMs?: number;
  startTimeoutMs?: number;
}

export interface RedisHandle {
  url: string;
  /** True when the Redis is a private one this process started. */
  spawned: boolean;
  /** Stops the private server and removes its folder; a no-op for a Redis we did not start. Idempotent. */
  stop(): Promise<void>;
}

export type RedisBootstrapCode = 'no_redis' | 'redis_refused' | 'redis_spawn';

export class RedisBootstrapError extends FleetError<RedisBootstrapCode> {}

type Probe = { ok: true } | { ok: false; answered: boolean; reason: string };

/** PING with a deadline. `answered` separates "nothing there" from "a server said no" (NOAUTH, LOADING). */
async function probe(url: string, timeoutMs: number): Promise<Probe> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    reconnectOnError: () => false,
  });
  // ioredis reports an AUTH refusal as an 'error' event and rejects connect() with "Connection is closed".
  let replyError: Error | undefined;
  client.on('error', (error: Error) => {
    if (error.name === 'ReplyError') replyError = error;
  });
  try {
    await client.connect();
    const reply = await client.ping();
    return reply === 'PONG' ? { ok: true } : { ok: false, answered: true, reason: `unexpected reply to PING` };
  } catch (error) {
    const reply = (error as Error).name === 'ReplyError' ? (error as Error) : replyError;
    // A Redis error reply starts with an upper-case word (NOAUTH, WRONGPASS, LOADING, ...): keep only that.
    if (reply) return { ok: false, answered: true, reason: reply.message.split(' ')[0] ?? 'error' };
    return { ok: false, answered: false, reason: (error as Error).message || 'no answer' };
  } finally {
    client.disconnect();
  }
}

function findOnPath(command: string): string | undefined {
  const candidates = isAbsolute(command) || command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; next
    }
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function noRedisError(url: string, reason: string): RedisBootstrapError {
  // ONE paragraph (issue 9): what was tried and the three ways to get a Redis.
  return new RedisBootstrapError(
    'no_redis',
    `No Redis answered at ${redactRedisUrl(url)} (${reason}) and no private one could be started. fleet-ota keeps devices, rollouts and queues in Redis 6.2 or newer. ` +
      'Start one with `docker compose up -d redis` (from the fleet-ota folder), or install the distro package ' +
      '(`sudo apt-get install redis-server` on Debian/Ubuntu, `brew install redis` on macOS) so that fleet-ota can start a private one itself, ' +
      'or point REDIS_URL at a Redis you already run (e.g. REDIS_URL=redis://host:6379).',
  );
}

/** Keeps the last lines a child printed, for the error message when it dies at start. */
function tail(child: ChildProcess, maxChars = 2_000): () => string {
  let text = '';
  const keep = (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-maxChars);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => text.trim().split('\n').slice(-3).join(' | ');
}

interface Started {
  child: ChildProcess;
  url: string;
  dir: string;
}

async function startPrivate(binary: string, baseUrl: string, options: Required<Pick<EnsureRedisOptions, 'pingTimeoutMs' | 'startTimeoutMs'>>): Promise<Started> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fleet-ota-redis-'));
  // Persistence off (a throw-away store), loopback only, and noeviction as BullMQ requires.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--dir', dir];
  // Own process group: a Ctrl-C in the terminal reaches only us, so a graceful shutdown (BullMQ
  // closing its queues) still has its Redis; the exit and signal hooks below stop the server after.
  const child = spawn(binary, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const lastLines = tail(child);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = signal ?? `exit code ${code}`;
  });
  child.once('error', (error) => {
    exited = (error as NodeJS.ErrnoException).code ?? error.message;
  });
  const privateUrl = new URL(`redis://127.0.0.1:${port}`);
  const db = safePathname(baseUrl);
  if (db) privateUrl.pathname = db;
  const deadline = Date.now() + options.startTimeoutMs;
  for (;;) {
    if (exited !== undefined) {
      rmSync(dir, { recursive: true, force: true });
      throw new RedisBootstrapError('redis_spawn', `redis-server stopped while starting (${exited}): ${lastLines()}`);
    }
    const result = await probe(privateUrl.toString(), options.pingTimeoutMs);
    if (result.ok) return { child, url: privateUrl.toString(), dir };
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw new RedisBootstrapError('redis_spawn', `redis-server did not answer PING within ${options.startTimeoutMs} ms: ${lastLines()}`);
    }
    await sleep(REDIS_BOOTSTRAP_DEFAULTS.startPollMs);
  }
}

/** The database number of a redis:// URL ("/3"), kept for the private server. */
function safePathname(url: string): string | undefined {
  try {
    const path = new URL(url).pathname;
    return /^\/\d{1,2}$/.test(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

function stopper(started: Started, logger: Logger | undefined): () => Promise<void> {
  const { child, dir } = started;
  let stopping: Promise<void> | undefined;
  // On exit only synchronous work runs: a signal and a best-effort folder removal.
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  // A fatal signal with no other handler would end us without 'exit': stop the server, then
  // re-raise so the default action (termination) still happens. If the program has its own
  // handler, it owns shutdown and will call stop() or exit, which the 'exit' hook covers.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const onSignal = (signal: NodeJS.Signals) => {
    if (process.listenerCount(signal) > 1) return;
    detach();
    onExit();
    process.kill(process.pid, signal);
  };
  const detach = () => {
    process.off('exit', onExit);
    for (const signal of signals) process.off(signal, onSignal);
  };
  process.on('exit', onExit);
  for (const signal of signals) process.on(signal, onSignal);

  return () => {
    stopping ??= (async () => {
      detach();
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), REDIS_BOOTSTRAP_DEFAULTS.stopTimeoutMs);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
      logger?.info({ url: started.url }, 'private redis-server stopped');
    })();
    return stopping;
  };
}

/**
 * Returns a usable Redis: the configured one if it answers PING, else a private one.
 * Throws RedisBootstrapError: no_redis (none answers, cannot or may not start one),
 * redis_refused (a server answered but refused: auth, loading), redis_spawn (the private one failed).
 */
export async function ensureRedis(options: EnsureRedisOptions = {}): Promise<RedisHandle> {
  const url = options.url ?? process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
  const pingTimeoutMs = options.pingTimeoutMs ?? REDIS_BOOTSTRAP_DEFAULTS.pingTimeoutMs;
  const startTimeoutMs = options.startTimeoutMs ?? REDIS_BOOTSTRAP_DEFAULTS.startTimeoutMs;
  const { logger } = options;

  // A Redis Cluster is the operator's: never replaced by a private server; the client reports
  // whether it answers.
  if (isClusterUrl(url)) return { url, spawned: false, stop: async () => {} };
  const found = await probe(url, pingTimeoutMs);
  if (found.ok) {
    logger?.debug({ url: redactRedisUrl(url) }, 'using running Redis');
    return { url, spawned: false, stop: async () => {} };
  }
  if (found.answered) {
    // Someone runs a Redis there on purpose; starting another beside it would hide the mistake.
    throw new RedisBootstrapError('redis_refused', `The Redis at ${redactRedisUrl(url)} answered PING with ${found.reason}: check the password or user in REDIS_URL, or wait until it has loaded.`);
  }
  if (options.allowSpawn === false) throw noRedisError(url, `${found.reason}; starting a private one is disabled`);
  const binary = findOnPath(options.redisServer ?? REDIS_BOOTSTRAP_DEFAULTS.redisServer);
  if (binary === undefined) throw noRedisError(url, `${found.reason}; ${options.redisServer ?? REDIS_BOOTSTRAP_DEFAULTS.redisServer} is not on PATH`);

  logger?.warn({ url: redactRedisUrl(url), reason: found.reason }, 'no Redis answered; starting a private redis-server (persistence off, stopped on exit)');
  let lastError: unknown;
  for (let attempt = 1; attempt <= REDIS_BOOTSTRAP_DEFAULTS.startAttempts; attempt++) {
    try {
      const started = await startPrivate(binary, url, { pingTimeoutMs, startTimeoutMs });
      logger?.info({ url: started.url, pid: started.child.pid }, 'private redis-server started');
      return { url: started.url, spawned: true, stop: stopper(started, logger) };
    } catch (error) {
      lastError = error;
      logger?.warn({ attempt, err: (error as Error).message }, 'private redis-server failed to start');
    }
  }
  throw lastError;
}
