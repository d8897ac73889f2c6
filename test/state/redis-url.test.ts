import { describe, expect, it } from 'vitest';
import { keyPrefixProblem } from '../../state/key-prefix.js';
import { parseRedisUrl, redactRedisUrl } from '../../state/redis-url.js';
import { loadOrchestratorConfig } from '../../orchestrator/config.js';
import { loadBrokerConfig } from '../../broker/config/load-broker-config.js';

describe('REDIS_URL', () => {
  it('names one Redis with redis:// and rediss://', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379/2')).toEqual({ kind: 'single', url: 'redis://127.0.0.1:6379/2' });
    expect(parseRedisUrl('rediss://h:6380')).toMatchObject({ kind: 'single' });
  });

  it('names a cluster by some of its nodes, with credentials and TLS', () => {
    expect(parseRedisUrl('redis+cluster://10.0.0.1:7000,redis-b:7001')).toEqual({ kind: 'cluster', tls: false, nodes: [{ host: '10.0.0.1', port: 7000 }, { host: 'redis-b', port: 7001 }] });
    expect(parseRedisUrl('rediss+cluster://ops:p%40ss@h:7000/')).toEqual({ kind: 'cluster', tls: true, username: 'ops', password: 'p@ss', nodes: [{ host: 'h', port: 7000 }] });
    expect(parseRedisUrl('redis+cluster://:secret@h:7000')).toEqual({ kind: 'cluster', tls: false, password: 'secret', nodes: [{ host: 'h', port: 7000 }] });
  });

  it('refuses what it cannot honour, with invalid_redis_url and never the password', () => {
    for (const url of ['redis+cluster://h', 'redis+cluster://h:0', 'redis+cluster://h:70000', 'redis+cluster://h:7000/2', 'redis+cluster://h:7000?db=1', 'redis+cluster://', 'http://h:6379', 'not a url']) {
      expect(() => parseRedisUrl(url), url).toThrow(expect.objectContaining({ code: 'invalid_redis_url' }));
    }
    expect(() => parseRedisUrl('redis+cluster://:hunter2@h')).toThrow(expect.not.objectContaining({ message: expect.stringContaining('hunter2') }));
    expect(redactRedisUrl('redis+cluster://ops:hunter2@h:7000,g:7001')).toBe('redis+cluster://ops:***@h:7000,g:7001');
    expect(redactRedisUrl('redis://u:hunter2@h:6379')).not.toContain('hunter2');
  });

  it('is accepted by both config loaders, the broker never echoing a refused URL\'s password', () => {
    const url = 'redis+cluster://127.0.0.1:7000,127.0.0.1:7001';
    expect(loadOrchestratorConfig({ REDIS_URL: url }).redisUrl).toBe(url);
    expect(loadBrokerConfig({ REDIS_URL: url }).redisUrl).toBe(url);
    expect(() => loadOrchestratorConfig({ REDIS_URL: 'redis+cluster://h' })).toThrow(expect.objectContaining({ code: 'invalid_configuration', issues: [expect.stringMatching(/^REDIS_URL:/)] }));
    let problems: string[] = [];
    try {
      loadBrokerConfig({ REDIS_URL: 'redis+cluster://:hunter2@h' });
    } catch (error) {
      problems = (error as { issues: string[] }).issues;
    }
    expect(problems).toEqual([expect.stringMatching(/^REDIS_URL: expected a redis:\/\/, rediss:\/\/, redis\+cluster:\/\//)]);
    expect(problems.join()).not.toContain('hunter2');
  });
});

describe('FLEET_KEY_PREFIX', () => {
  it('refuses a hash tag in the prefix and says why: fleet-ota places its own', () => {
    expect(keyPrefixProblem('fleet:')).toBeUndefined();
    expect(keyPrefixProblem('{fleet}:')).toMatch(/hash tags.*one slot/);
    expect(keyPrefixProblem('a}b')).toMatch(/hash tags/);
    expect(keyPrefixProblem('')).toBeDefined();
    expect(keyPrefixProblem('x'.repeat(65))).toBeDefined();
    expect(keyPrefixProblem('a b')).toBeDefined();
  });

  it('is refused by both config loaders with that reason', () => {
    expect(() => loadOrchestratorConfig({ FLEET_KEY_PREFIX: '{fleet}:' })).toThrow(expect.objectContaining({ code: 'invalid_configuration', issues: [expect.stringMatching(/^FLEET_KEY_PREFIX: .*hash tags.*one slot/)] }));
    expect(() => loadBrokerConfig({ FLEET_KEY_PREFIX: '{fleet}:' })).toThrow(expect.objectContaining({ code: 'invalid_configuration', issues: [expect.stringMatching(/^FLEET_KEY_PREFIX: .*hash tags.*one slot/)] }));
  });
});
