// `fleet-ota broker` as a process: starts from the environment and --port, prints its URL,
// serves MQTT, closes on SIGTERM with exit 0; a bad value exits 2 naming the variable.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { hashServiceSecret } from '../../broker/index.js';
import { ORCHESTRATOR_SECRET, REDIS_URL, deleteByPrefix, testPrefix, tryConnect, uniqueId } from './helpers.js';

const launcher = fileURLToPath(new URL('../../launcher/fleet-ota.js', import.meta.url));
const prefix = testPrefix('cli');

afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

function run(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, [launcher, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

describe('fleet-ota broker', () => {
  it('starts, prints its URL, accepts a service account, and exits 0 on SIGTERM', async () => {
    const accounts = JSON.stringify([{ username: 'orchestrator', secretSha256: hashServiceSecret(ORCHESTRATOR_SECRET), role: 'orchestrator' }]);
    const proc = run(['broker', '--port', '0'], { FLEET_KEY_PREFIX: prefix, REDIS_URL, FLEET_BROKER_SERVICE_ACCOUNTS: accounts, FLEET_BROKER_PORT: '1' });
    const started = Date.now();
    while (!/^mqtt:\/\/127\.0\.0\.1:\d+$/m.test(proc.out())) {
      if (Date.now() - started > 40_000) throw new Error(`no URL printed: ${proc.err()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /^(mqtt:\/\/127\.0\.0\.1:\d+)$/m.exec(proc.out())![1]!;
    const result = await tryConnect(url, { clientId: uniqueId('svc'), username: 'orchestrator', password: ORCHESTRATOR_SECRET });
    expect(result.ok).toBe(true);
    if (result.ok) await result.client.endAsync();
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  }, 60_000);

  it('exits 2 with invalid_configuration and the variable named for a bad value', async () => {
    const proc = run(['broker'], { FLEET_BROKER_MAX_CONNECTIONS: 'lots', FLEET_KEY_PREFIX: prefix });
    expect(await proc.exited).toBe(2);
    expect(proc.err()).toContain('FLEET_BROKER_MAX_CONNECTIONS');
    expect(proc.err()).toContain('invalid_configuration');
  }, 60_000);
});
