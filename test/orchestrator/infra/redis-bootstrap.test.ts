import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_REDIS_URL } from '../../../state/redis.js';
import { ensureRedis, redactRedisUrl, type RedisHandle } from '../../../orchestrator/infra/redis-bootstrap.js';
import { freePort as closedPort } from '../../support/free-port.js';

const RUNNING = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
const CHILD = fileURLToPath(new URL('./fixtures/private-redis-child.ts', import.meta.url));


/** Resolves true when something accepts a TCP connection on the port. */
async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

const handles: RedisHandle[] = [];
afterEach(async () => {
  await Promise.all(handles.splice(0).map((handle) => handle.stop()));
});

describe('ensureRedis', () => {
  it('uses the running Redis when the URL answers PING, and stop() leaves it alone', async () => {
    const handle = await ensureRedis({ url: RUNNING });
    expect(handle).toMatchObject({ url: RUNNING, spawned: false });
    await handle.stop();
    const client = new Redis(RUNNING, { maxRetriesPerRequest: 1 });
    try {
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
    }
  });

  it('reads REDIS_URL when no url is given', async () => {
    const saved = process.env.REDIS_URL;
    process.env.REDIS_URL = RUNNING;
    try {
      expect(await ensureRedis()).toMatchObject({ url: RUNNING, spawned: false });
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });

  it('starts a private, non-persistent, noeviction Redis when the URL points at a closed port, and stop() closes it', async () => {
    const closed = await closedPort();
    const handle = await ensureRedis({ url: `redis://127.0.0.1:${closed}` });
    handles.push(handle);
    expect(handle.spawned).toBe(true);
    const port = portOf(handle.url);
    expect(port).not.toBe(closed);
    const client = new Redis(handle.url, { maxRetriesPerRequest: 1 });
    let dir: string | undefined;
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'save')).toEqual(['save', '']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      dir = ((await client.config('GET', 'dir')) as string[])[1];
    } finally {
      client.disconnect();
    }
    await handle.stop();
    await handle.stop(); // idempotent
    expect(await listening(port)).toBe(false);
    expect(dir).toMatch(/fleet-ota-redis-/);
    expect(existsSync(dir as string)).toBe(false);
  });

  it('keeps the database number of the configured URL', async () => {
    const closed = await closedPort();
    const handle = await ensureRedis({ url: `redis://127.0.0.1:${closed}/3` });
    handles.push(handle);
    expect(new URL(handle.url).pathname).toBe('/3');
  });

  it('fails with no_redis, in one paragraph naming the remedies, when spawning is disabled', async () => {
    const closed = await closedPort();
    const error = await ensureRedis({ url: `redis://127.0.0.1:${closed}`, allowSpawn: false }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'no_redis' });
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    for (const remedy of ['docker compose up -d redis', 'apt-get install redis-server', 'brew install redis', 'REDIS_URL']) expect(message).toContain(remedy);
    expect(await listening(closed)).toBe(false);
  });

  it('fails with no_redis when redis-server is not on PATH', async () => {
    const closed = await closedPort();
    await expect(ensureRedis({ url: `redis://127.0.0.1:${closed}`, redisServer: 'redis-server-not-installed-here' })).rejects.toMatchObject({ code: 'no_redis' });
  });

  it('fails with redis_refused (and starts nothing) when the Redis there refuses PING', async () => {
    // A password on a Redis that has none: the server answers with an error reply.
    const url = new URL(RUNNING);
    url.username = 'fleet-ota-no-such-user';
    url.password = 'wrong-password';
    await expect(ensureRedis({ url: url.toString() })).rejects.toMatchObject({ code: 'redis_refused' });
  });

  it('never shows the password of the URL', () => {
    expect(redactRedisUrl('redis://user:s3cret@host:6379/2')).not.toContain('s3cret');
  });

  it.each(['exit', 'wait'] as const)('stops the private Redis when its process ends (%s)', async (how) => {
    const closed = await closedPort();
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, `redis://127.0.0.1:${closed}`, how], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
        if (text.includes('\n')) resolve(text.split('\n')[0] ?? '');
      });
      child.once('exit', () => reject(new Error(`child exited before printing: ${text}`)));
    });
    const { url, spawned, dir } = JSON.parse(line) as { url: string; spawned: boolean; dir: string };
    expect(spawned).toBe(true);
    expect(existsSync(dir)).toBe(true);
    if (how === 'wait') {
      expect(await listening(portOf(url))).toBe(true);
      child.kill('SIGTERM');
    } else {
      child.stdin.write('exit\n');
    }
    await exited;
    // SIGKILL from the exit hook is immediate, but the socket closes when the kernel reaps the server.
    for (let i = 0; i < 40 && (await listening(portOf(url))); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await listening(portOf(url))).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
