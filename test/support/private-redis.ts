// A private redis-server for fault tests: on a free loopback port with its own folder, so a test
// may fill it to maxmemory, reconfigure it, kill and restart it (same port, same data) without
// touching the shared Redis. Stopped (and its folder removed) by stop().
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

export interface PrivateRedisOptions {
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes', '--appendfsync', 'always']. */
  args?: string[];
  startTimeoutMs?: number;
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** An admin connection for the test (CONFIG SET, filling, INFO); survives restarts. */
  admin: Redis;
  /** SIGKILL, then wait for the exit: the crash case. */
  kill(): Promise<void>;
  /** Starts the server again on the same port and folder (its AOF, if any, is replayed). */
  start(): Promise<void>;
  stop(): Promise<void>;
}


export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-ota-fault-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--dir', dir, ...(options.args ?? [])];
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    const proc = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    proc.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    proc.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
    exited = new Promise((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + (options.startTimeoutMs ?? 15_000);
    for (;;) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        // LOADING while an AOF is replayed: not up yet.
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        // not yet
      } finally {
        probe.disconnect();
      }
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${port} did not start: ${output}`);
      await sleep(50);
    }
  };
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };

  await start();
  const admin = new Redis(url, { maxRetriesPerRequest: null });
  admin.on('error', () => undefined);
  return {
    url,
    port,
    admin,
    kill,
    start,
    stop: async () => {
      admin.disconnect();
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
