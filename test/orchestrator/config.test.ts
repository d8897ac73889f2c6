// loadOrchestratorConfig: defaults, derived public URL, and one invalid_configuration naming every bad variable.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadOrchestratorConfig } from '../../orchestrator/config.js';

describe('loadOrchestratorConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadOrchestratorConfig({});
    expect(config).toMatchObject({
      redisUrl: 'redis://127.0.0.1:6379',
      keyPrefix: 'fleet:',
      httpHost: '127.0.0.1',
      httpPort: 8080,
      publicUrl: 'http://127.0.0.1:8080',
      publicUrlFromEnv: false,
      dataDir: './.fleet-ota/data',
      maxArtifactBytes: 512 * 1024 * 1024,
      maxBodyBytes: 1024 * 1024,
      maxImportBytes: 64 * 1024 * 1024,
      importKeyCheck: 'full',
      operatorToken: undefined,
      directorKeyPath: undefined,
    });
  });

  it('reads the reconciliation settings: a sweep period of 0 (off) or at least a second, a positive rate', () => {
    expect(loadOrchestratorConfig({})).toMatchObject({ reconcileIntervalMs: 60_000, reconcilePerSecond: 500 });
    expect(loadOrchestratorConfig({ FLEET_RECONCILE_INTERVAL_MS: '0', FLEET_RECONCILE_PER_SEC: '50' })).toMatchObject({ reconcileIntervalMs: 0, reconcilePerSecond: 50 });
    for (const env of [{ FLEET_RECONCILE_INTERVAL_MS: '500' }, { FLEET_RECONCILE_INTERVAL_MS: 'soon' }, { FLEET_RECONCILE_PER_SEC: '0' }]) {
      expect(() => loadOrchestratorConfig(env)).toThrow(expect.objectContaining({ code: 'invalid_configuration', issues: [expect.stringMatching(new RegExp(`^${Object.keys(env)[0]}:`))] }));
    }
  });

  it('takes every variable and strips a trailing slash from the public URL', () => {
    const config = loadOrchestratorConfig({
      REDIS_URL: 'redis://redis:6380/2',
      FLEET_KEY_PREFIX: 'prod:',
      FLEET_HTTP_HOST: '0.0.0.0',
      FLEET_HTTP_PORT: '0',
      FLEET_PUBLIC_URL: 'https://ota.example.com/',
      FLEET_MAX_ARTIFACT_BYTES: '1000',
      FLEET_OPERATOR_TOKEN: 'operator-token-0123456789',
      FLEET_READONLY_TOKEN: 'readonly-token-0123456789',
      FLEET_DIRECTOR_KEY: '/keys/director.json',
      FLEET_BROKER_URL: 'mqtt://127.0.0.1:1883',
      FLEET_BROKER_USERNAME: 'svc-engine',
      FLEET_BROKER_SECRET: 's3cret',
    });
    expect(config).toMatchObject({ redisUrl: 'redis://redis:6380/2', keyPrefix: 'prod:', httpPort: 0, publicUrl: 'https://ota.example.com', publicUrlFromEnv: true, maxArtifactBytes: 1000, directorKeyPath: '/keys/director.json', brokerSecret: 's3cret' });
  });

  it('derives the public URL from host and port, with 0.0.0.0 shown as loopback', () => {
    expect(loadOrchestratorConfig({ FLEET_HTTP_HOST: '0.0.0.0', FLEET_HTTP_PORT: '9000' }).publicUrl).toBe('http://127.0.0.1:9000');
    expect(loadOrchestratorConfig({ FLEET_HTTP_HOST: '::1' }).publicUrl).toBe('http://[::1]:8080');
  });

  it('names every bad variable in one invalid_configuration error and never echoes a value', () => {
    let caught: unknown;
    try {
      loadOrchestratorConfig({ REDIS_URL: 'http://nope', FLEET_HTTP_PORT: '70000', FLEET_PUBLIC_URL: 'ftp://x', FLEET_MAX_BODY_BYTES: '-1', FLEET_OPERATOR_TOKEN: 'short-secret', FLEET_IMPORT_KEY_CHECK: 'none' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.code).toBe('invalid_configuration');
    expect(error.issues.map((p) => p.split(':')[0]).sort()).toEqual(
      ['FLEET_HTTP_PORT', 'FLEET_IMPORT_KEY_CHECK', 'FLEET_MAX_BODY_BYTES', 'FLEET_OPERATOR_TOKEN', 'FLEET_PUBLIC_URL', 'REDIS_URL'],
    );
    expect(error.message).not.toContain('short-secret');
  });

  it('refuses the same token for both roles', () => {
    expect(() => loadOrchestratorConfig({ FLEET_OPERATOR_TOKEN: 'same-token-0123456789', FLEET_READONLY_TOKEN: 'same-token-0123456789' })).toThrow(expect.objectContaining({ code: 'invalid_configuration' }));
  });
});
