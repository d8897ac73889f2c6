// TLS listener (key/cert paths in config) and behaviour when the registry is unreachable.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../runtime/logger.js';
import { startBroker } from '../../broker/index.js';
import { REDIS_URL, deleteByPrefix, provisionDevice, testBrokerConfig, testPrefix, tryConnect, uniqueId } from './helpers.js';

let redis: Redis;
let dir: string;
const prefix = testPrefix('tls');

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  dir = mkdtempSync(join(tmpdir(), 'fleet-broker-tls-'));
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
  ], { stdio: 'ignore' });
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

describe('TLS', () => {
  it('serves mqtts:// with the configured key and certificate, and nothing in clear', async () => {
    const device = await provisionDevice(redis, prefix, uniqueId('tls'));
    const broker = await startBroker(testBrokerConfig(prefix, { tls: { keyFile: join(dir, 'key.pem'), certFile: join(dir, 'cert.pem') } }), { logger: silentLogger() });
    try {
      expect(broker.url).toBe(`mqtts://127.0.0.1:${broker.port}`);
      const secure = await tryConnect(broker.url, { clientId: device.id, username: device.id, password: device.token(), ca: readFileSync(join(dir, 'cert.pem')), rejectUnauthorized: true });
      expect(secure.ok).toBe(true);
      if (secure.ok) await secure.client.endAsync();
      const clear = await tryConnect(`mqtt://127.0.0.1:${broker.port}`, { clientId: device.id, username: device.id, password: device.token(), connectTimeout: 1500 });
      expect(clear.ok).toBe(false);
    } finally {
      await broker.close();
    }
  });
});

describe('registry unavailable', () => {
  it('refuses device connects with CONNACK 3 (server unavailable) instead of hanging', async () => {
    const device = await provisionDevice(redis, prefix, uniqueId('dark'));
    const registry = new Redis(REDIS_URL);
    const broker = await startBroker(testBrokerConfig(prefix, { limits: { registryTimeoutMs: 500 } }), { redis: registry, logger: silentLogger() });
    try {
      registry.disconnect();
      const started = Date.now();
      const result = await tryConnect(broker.url, { clientId: device.id, username: device.id, password: device.token() });
      expect(result).toMatchObject({ ok: false, code: 3 });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(broker.refusals().registry_unavailable).toBe(1);
    } finally {
      await broker.close();
    }
  });
});
