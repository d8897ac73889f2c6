// Configuration: defaults, env over file, one clear message per bad value (code invalid_configuration).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_LIMITS, hashServiceSecret, loadBrokerConfig } from '../../../broker/index.js';

const dir = mkdtempSync(join(tmpdir(), 'fleet-broker-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function issuesOf(env: NodeJS.ProcessEnv, file?: string): string[] {
  try {
    loadBrokerConfig(env, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('invalid_configuration');
    return [...(error as ConfigError).issues];
  }
  throw new Error('expected invalid_configuration');
}

const account = { username: 'orchestrator', secretSha256: hashServiceSecret('s3cret'), role: 'orchestrator' };

describe('loadBrokerConfig', () => {
  it('has safe defaults', () => {
    const config = loadBrokerConfig({});
    expect(config).toMatchObject({ host: '127.0.0.1', port: 1884, redisUrl: 'redis://127.0.0.1:6379', keyPrefix: 'fleet:', cluster: 'none', persistence: 'redis', serviceAccounts: [] });
    expect(config.limits).toEqual(DEFAULT_LIMITS);
    expect(config.limits.maxTokenLifetimeS).toBe(86_400);
    expect(config.limits.maxDirectiveBytes).toBe(65_536);
    expect(config.limits.maxStatusBytes).toBe(4_096);
    expect(config.tls).toBeUndefined();
    expect(config.metricsPort).toBeUndefined();
  });

  it('reads every variable', () => {
    writeFileSync(join(dir, 'key.pem'), 'k');
    writeFileSync(join(dir, 'cert.pem'), 'c');
    const config = loadBrokerConfig({
      FLEET_BROKER_HOST: '0.0.0.0',
      FLEET_BROKER_PORT: '0',
      REDIS_URL: 'rediss://user:pw@redis.example:6380/2',
      FLEET_KEY_PREFIX: 'prod:',
      FLEET_BROKER_SERVICE_ACCOUNTS: JSON.stringify([account]),
      FLEET_BROKER_MAX_CONNECTIONS: '500',
      FLEET_BROKER_CONNECTS_PER_IP_PER_SEC: '0',
      FLEET_BROKER_PUBLISHES_PER_CLIENT_PER_SEC: '3',
      FLEET_BROKER_MAX_TOKEN_LIFETIME_S: '3600',
      FLEET_BROKER_TLS_KEY: join(dir, 'key.pem'),
      FLEET_BROKER_TLS_CERT: join(dir, 'cert.pem'),
      FLEET_BROKER_CLUSTER: 'redis',
      FLEET_BROKER_ID: 'node-a',
      FLEET_BROKER_METRICS_PORT: '9464',
      FLEET_BROKER_PERSISTENCE: 'redis',
      FLEET_BROKER_SESSION_REPLAY_MAX: '5000',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0', port: 0, keyPrefix: 'prod:', cluster: 'redis', persistence: 'redis', brokerId: 'node-a', metricsPort: 9464,
      serviceAccounts: [account], tls: { keyFile: join(dir, 'key.pem'), certFile: join(dir, 'cert.pem') },
    });
    expect(config.limits).toMatchObject({ maxConnections: 500, connectsPerIpPerSec: 0, publishesPerClientPerSec: 3, maxTokenLifetimeS: 3600, sessionReplayMax: 5000 });
  });

  it('takes memory persistence for one node, and refuses it for a cluster', () => {
    expect(loadBrokerConfig({ FLEET_BROKER_PERSISTENCE: 'memory' }).persistence).toBe('memory');
    expect(issuesOf({ FLEET_BROKER_PERSISTENCE: 'disk' })).toEqual(['FLEET_BROKER_PERSISTENCE: expected "redis" or "memory", got "disk"']);
    const issues = issuesOf({ FLEET_BROKER_PERSISTENCE: 'memory', FLEET_BROKER_CLUSTER: 'redis' });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^FLEET_BROKER_PERSISTENCE: "memory" cannot be clustered/);
  });

  it('names each bad variable, all at once', () => {
    const issues = issuesOf({
      FLEET_BROKER_PORT: '70000',
      FLEET_BROKER_HOST: 'a b',
      REDIS_URL: 'http://x',
      FLEET_KEY_PREFIX: 'has space',
      FLEET_BROKER_MAX_CONNECTIONS: 'many',
      FLEET_BROKER_PUBLISHES_PER_CLIENT_PER_SEC: '-1',
      FLEET_BROKER_MAX_TOKEN_LIFETIME_S: '1.5',
      FLEET_BROKER_CLUSTER: 'zookeeper',
      FLEET_BROKER_METRICS_PORT: 'x',
    });
    for (const name of ['FLEET_BROKER_PORT', 'FLEET_BROKER_HOST', 'REDIS_URL', 'FLEET_KEY_PREFIX', 'FLEET_BROKER_MAX_CONNECTIONS',
      'FLEET_BROKER_PUBLISHES_PER_CLIENT_PER_SEC', 'FLEET_BROKER_MAX_TOKEN_LIFETIME_S', 'FLEET_BROKER_CLUSTER', 'FLEET_BROKER_METRICS_PORT']) {
      expect(issues.some((issue) => issue.startsWith(`${name}:`)), name).toBe(true);
    }
    expect(issues).toHaveLength(9);
  });

  it('validates service accounts without echoing them, inline or from a file', () => {
    expect(issuesOf({ FLEET_BROKER_SERVICE_ACCOUNTS: 'not json' })[0]).toMatch(/^FLEET_BROKER_SERVICE_ACCOUNTS: not valid JSON/);
    const bad = issuesOf({ FLEET_BROKER_SERVICE_ACCOUNTS: JSON.stringify([{ ...account, secretSha256: 'plaintext-secret', role: 'admin' }]) });
    expect(bad.some((issue) => issue.includes('secretSha256'))).toBe(true);
    expect(bad.some((issue) => issue.includes('role'))).toBe(true);
    expect(bad.join('\n')).not.toContain('plaintext-secret');
    expect(issuesOf({ FLEET_BROKER_SERVICE_ACCOUNTS: JSON.stringify([account, account]) })[0]).toMatch(/unique/);
    const path = join(dir, 'accounts.json');
    writeFileSync(path, JSON.stringify([account]));
    expect(loadBrokerConfig({ FLEET_BROKER_SERVICE_ACCOUNTS_FILE: path }).serviceAccounts).toEqual([account]);
    expect(issuesOf({ FLEET_BROKER_SERVICE_ACCOUNTS_FILE: join(dir, 'missing.json') })[0]).toMatch(/^FLEET_BROKER_SERVICE_ACCOUNTS_FILE: cannot read/);
    expect(issuesOf({ FLEET_BROKER_SERVICE_ACCOUNTS_FILE: path, FLEET_BROKER_SERVICE_ACCOUNTS: '[]' })[0]).toMatch(/set one, not both/);
  });

  it('wants both TLS paths, readable', () => {
    expect(issuesOf({ FLEET_BROKER_TLS_KEY: join(dir, 'key.pem') })[0]).toMatch(/FLEET_BROKER_TLS_KEY and FLEET_BROKER_TLS_CERT/);
    expect(issuesOf({ FLEET_BROKER_TLS_KEY: join(dir, 'nope.pem'), FLEET_BROKER_TLS_CERT: join(dir, 'cert.pem') })[0]).toMatch(/^FLEET_BROKER_TLS_KEY: cannot read/);
  });

  it('reads a JSON file; the environment wins; relative paths are the file\'s; unknown fields are errors', () => {
    const path = join(dir, 'broker.json');
    writeFileSync(path, JSON.stringify({ port: 2000, host: '10.0.0.1', limits: { maxConnections: 42 }, serviceAccounts: [account], tls: { keyFile: 'key.pem', certFile: 'cert.pem' } }));
    const config = loadBrokerConfig({ FLEET_BROKER_PORT: '3000' }, path);
    expect(config).toMatchObject({ port: 3000, host: '10.0.0.1', serviceAccounts: [account], tls: { keyFile: join(dir, 'key.pem') } });
    expect(config.limits.maxConnections).toBe(42);
    writeFileSync(path, JSON.stringify({ prot: 1, limits: { maxConections: 1, maxStatusBytes: 'big' } }));
    const issues = issuesOf({}, path);
    expect(issues).toContain(`${path}: unknown field "prot"`);
    expect(issues).toContain(`${path}: limits: unknown field "maxConections"`);
    expect(issues.some((issue) => issue.startsWith(`${path}: limits.maxStatusBytes:`))).toBe(true);
    writeFileSync(path, '{ not json');
    expect(issuesOf({}, path)[0]).toMatch(/not valid JSON/);
  });

  it('refuses a status limit above the directive limit', () => {
    expect(issuesOf({ FLEET_BROKER_MAX_STATUS_BYTES: '60000', FLEET_BROKER_MAX_DIRECTIVE_BYTES: '50000' })[0]).toMatch(/^FLEET_BROKER_MAX_STATUS_BYTES: must not exceed/);
  });
});
