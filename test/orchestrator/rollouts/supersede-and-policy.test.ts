// A device in two rollouts belongs to the newer one; and the orchestrator refuses a Redis that
// may evict keys (BullMQ and rollout state need noeviction).
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrchestratorConfig } from '../../../orchestrator/config.js';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { startOrchestrator } from '../../../orchestrator/server.js';
import { silentLogger } from '../../../runtime/logger.js';
import { scriptedFleet } from '../../support/scripted-device.js';

let stack: LocalStack;
const scripted = scriptedFleet(() => stack);

beforeAll(async () => {
  stack = await startLocalStack({ engine: { tickMs: 100 } });
});

afterAll(async () => {
  await scripted.close();
  await stack?.close();
});

describe('a device in two rollouts', () => {
  it('belongs to the newer rollout; the older one marks it canceled (superseded) and says by which', async () => {
    const [device] = await scripted.add('twice', 1, () => 'silent', ['g-twice']);
    const first = await stack.createRollout({ releaseId: await scripted.release(), target: { groups: ['g-twice'] } });
    await expect.poll(() => device!.plans.length, { timeout: 5_000 }).toBe(1);
    const second = await stack.createRollout({ releaseId: await scripted.release(), target: { groups: ['g-twice'] } });
    await expect.poll(() => device!.plans.length, { timeout: 5_000 }).toBe(2);
    expect(device!.plans[1]!.directive.rolloutId).toBe(second.id);
    expect(device!.plans[1]!.directive.counter).toBeGreaterThan(device!.plans[0]!.directive.counter);

    const inFirst = await stack.api<{ state: string; reason: string; supersededBy?: string }>('GET', `/v1/rollouts/${first.id}/devices/${device!.id}`);
    expect(inFirst).toMatchObject({ state: 'canceled', reason: 'superseded', supersededBy: second.id });
    expect((await stack.rollout(first.id)).counts).toEqual({ canceled: 1 });
    // A late report for the older rollout changes nothing there.
    await device!.report(device!.plans[0]!.directive, 'accepted');
    await device!.report(device!.plans[1]!.directive, 'accepted');
    await stack.waitForRollout(second.id, (v) => v.counts.accepted === 1);
    expect((await stack.rollout(first.id)).counts).toEqual({ canceled: 1 });
  });
});

describe('Redis eviction policy', () => {
  it('refuses to start on a Redis that may evict keys, with the way to fix it', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'allkeys-lru'], { stdio: 'ignore' });
    try {
      // Until the server accepts connections.
      await expect.poll(() => new Promise<boolean>((resolve) => {
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        }).on('error', () => resolve(false));
      }), { timeout: 10_000, interval: 50 }).toBe(true);
      const config = { ...loadOrchestratorConfig({}), redisUrl: `redis://127.0.0.1:${port}`, httpPort: 0, keyPrefix: 'test:eviction:' };
      await expect(startOrchestrator(config, {}, silentLogger())).rejects.toMatchObject({ code: 'redis_eviction_policy', message: expect.stringContaining('noeviction') });
    } finally {
      redis.kill('SIGTERM');
    }
  });
});

describe('operator action bodies', () => {
  it('take no body or { reason }, and refuse anything else with a 400', async () => {
    const missing = await fetch(`${stack.apiUrl}/v1/rollouts/nope/pause`, { method: 'POST', headers: { authorization: `Bearer ${stack.operatorToken}` } });
    expect(missing.status).toBe(404);
    const bad = await fetch(`${stack.apiUrl}/v1/rollouts/nope/pause`, { method: 'POST', headers: { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'x'.repeat(257) }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'bad_request' });
  });
});
