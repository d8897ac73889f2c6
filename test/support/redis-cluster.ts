// A private Redis Cluster for tests: N masters (3 by default), each a `redis-server
// --cluster-enabled yes` on free loopback ports (client and bus port both chosen, so nothing
// depends on port+10000 being free), sharing one temporary folder for their nodes-*.conf files.
// Slots are split evenly with CLUSTER ADDSLOTSRANGE and the nodes introduced with CLUSTER MEET
// (what `redis-cli --cluster create` does, without its interactive checks); ready once every node
// says cluster_state:ok and knows every master. stop() kills them all and removes the folder.
// The shared Redis at 6379 is never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './free-port.js';

const SLOTS = 16_384;

export interface RedisClusterOptions {
  /** Masters (default 3, at least 3: Redis Cluster's own minimum for failover, kept here too). */
  masters?: number;
  startTimeoutMs?: number;
}

export interface RedisClusterNode {
  host: string;
  port: number;
  /** An admin connection to this node alone (INFO, DBSIZE, CLUSTER ...); not cluster-aware. */
  admin: Redis;
  /** The first and last slot this node serves. */
  slots: [number, number];
  /** The cluster bus port (not port + 10000: chosen free like the client port). */
  busPort: number;
}

export interface TestRedisCluster {
  nodes: RedisClusterNode[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,...`: what REDIS_URL is set to for fleet-ota. */
  url: string;
  stop(): Promise<void>;
}

function spawnNode(dir: string, port: number, busPort: number): { proc: ChildProcess; output: () => string; exited: Promise<void> } {
  const args = [
    '--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1',
    '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '5000',
    '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--dir', dir,
  ];
  const proc = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (chunk: Buffer) => (out = (out + chunk.toString()).slice(-4_000));
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return { proc, output: () => out, exited };
}

async function waitFor(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`Redis Cluster: ${what} not reached in time`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<TestRedisCluster> {
  const masters = options.masters ?? 3;
  if (masters < 3) throw new Error('a Redis Cluster needs at least 3 masters');
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  const dir = await mkdtemp(join(tmpdir(), 'fleet-ota-cluster-'));
  const spawned: Array<ReturnType<typeof spawnNode>> = [];
  const nodes: RedisClusterNode[] = [];
  const stop = async () => {
    for (const node of nodes) node.admin.disconnect();
    for (const { proc } of spawned) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
    await Promise.all(spawned.map((s) => s.exited));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const ports = new Set<number>();
    while (ports.size < masters * 2) ports.add(await freePort());
    const list = [...ports];
    for (let i = 0; i < masters; i += 1) {
      const port = list[i * 2]!;
      const child = spawnNode(dir, port, list[i * 2 + 1]!);
      spawned.push(child);
      const admin = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
      admin.on('error', () => undefined);
      const first = Math.floor((SLOTS * i) / masters);
      const last = Math.floor((SLOTS * (i + 1)) / masters) - 1;
      nodes.push({ host: '127.0.0.1', port, admin, slots: [first, last], busPort: list[i * 2 + 1]! });
    }
    for (const [i, node] of nodes.entries()) {
      await waitFor(`node ${node.port} answering (${spawned[i]!.output()})`, deadline, async () => {
        if (spawned[i]!.proc.exitCode !== null) throw new Error(`redis-server ${node.port} exited: ${spawned[i]!.output()}`);
        return (await node.admin.ping()) === 'PONG';
      });
      await node.admin.call('CLUSTER', 'ADDSLOTSRANGE', String(node.slots[0]), String(node.slots[1]));
    }
    // MEET names the bus port too: without it Redis assumes port + 10000.
    for (const node of nodes.slice(1)) await nodes[0]!.admin.call('CLUSTER', 'MEET', node.host, String(node.port), String(node.busPort));
    await waitFor('cluster_state:ok on every node', deadline, async () => {
      for (const node of nodes) {
        const info = (await node.admin.call('CLUSTER', 'INFO')) as string;
        if (!info.includes('cluster_state:ok') || !info.includes(`cluster_known_nodes:${masters}`)) return false;
        // Every node must map every slot range to its owner, or a client would be sent MOVED around.
        const slots = (await node.admin.call('CLUSTER', 'SLOTS')) as unknown[];
        if (slots.length !== masters) return false;
      }
      return true;
    });
    return {
      nodes,
      url: `redis+cluster://${nodes.map((n) => `${n.host}:${n.port}`).join(',')}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
