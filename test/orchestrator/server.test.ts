// startOrchestrator (the composition root, here without its rollout side) on a real port and
// Redis: bootstrap tokens from the environment, the public URL fixed after binding port 0, extra
// routes, key cache dropped on a revocation published by another process, and a clean close.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../orchestrator/auth/tokens.js';
import { tokenKeys } from '../../state/auth/token-records.js';
import { loadOrchestratorConfig } from '../../orchestrator/config.js';
import { createRedis } from '../../state/redis.js';
import { silentLogger } from '../../runtime/logger.js';
import { registryKeys } from '../../state/device-record.js';
import { startOrchestrator, type RunningOrchestrator } from '../../orchestrator/server.js';
import { deletePrefix, randomDeviceKey, testPrefix } from './helpers.js';

const OPERATOR = 'bootstrap-operator-token-0123456789';
const READ = 'bootstrap-read-token-0123456789';
const prefix = testPrefix('server');
const events: string[] = [];
let server: RunningOrchestrator;
let dir: string;

const extra: FastifyPluginAsync = async (app) => {
  app.get('/engine/ping', { preHandler: app.requireRole('read') }, async () => ({ pong: true }));
  app.addHook('onClose', async () => {
    events.push('closing');
  });
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-ota-server-'));
  const config = loadOrchestratorConfig({ FLEET_KEY_PREFIX: prefix, FLEET_DATA_DIR: dir, FLEET_HTTP_PORT: '0', FLEET_OPERATOR_TOKEN: OPERATOR, FLEET_READONLY_TOKEN: READ });
  server = await startOrchestrator(config, { extraRoutes: [extra] }, silentLogger());
  events.push(`started ${server.url === server.config.publicUrl}`);
});

afterAll(async () => {
  await server?.close();
  const redis = createRedis();
  await deletePrefix(redis, prefix);
  await redis.quit();
  await rm(dir, { recursive: true, force: true });
});

describe('startOrchestrator', () => {
  it('listens on the chosen port and uses that address as the public URL', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(events).toEqual(['started true']);
    expect(await (await fetch(`${server.url}/v1/readyz`)).json()).toEqual({ status: 'ready' });
  });

  it('stores the bootstrap tokens hashed and grants their roles', async () => {
    const stored = await server.redis.hgetall(tokenKeys(prefix).tokens);
    expect(Object.keys(stored).sort()).toEqual([hashToken(OPERATOR), hashToken(READ)].sort());
    expect(JSON.stringify(stored)).not.toContain(OPERATOR);
    const device = { id: 'srv-1', publicKey: randomDeviceKey(), vendorId: 'acme', classId: 'gw-2' };
    const post = (token: string) => fetch(`${server.url}/v1/devices`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(device) });
    expect((await post(READ)).status).toBe(403);
    expect((await post(OPERATOR)).status).toBe(201);
    expect(await (await fetch(`${server.url}/v1/engine/ping`, { headers: { authorization: `Bearer ${READ}` } })).json()).toEqual({ pong: true });
  });

  it('drops a cached device key when another process publishes a revocation', async () => {
    const registry = server.app.services.registry;
    expect(await registry.getPublicKey('srv-1')).toBeInstanceOf(Uint8Array);
    // Another orchestrator process revokes: the record changes and the id is published.
    const other = createRedis();
    await other.hset(registryKeys(prefix).device('srv-1'), 'revoked', '1');
    await other.publish(registryKeys(prefix).revokedChannel, 'srv-1');
    await other.quit();
    await expect.poll(() => registry.getPublicKey('srv-1')).toBeUndefined();
  });

  it('closes its routes and Redis, once', async () => {
    await Promise.all([server.close(), server.close()]);
    expect(events).toEqual(['started true', 'closing']);
    await expect(fetch(`${server.url}/v1/healthz`)).rejects.toThrow();
    await expect.poll(() => server.redis.status).toBe('end');
  });
});
