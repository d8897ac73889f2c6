// `fleet-ota rollouts ...` as an operator runs it: the real binary against a real orchestrator,
// broker and Redis, with scripted devices answering over MQTT.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWaves } from '../../../orchestrator/cli/commands/rollouts.js';
import { startLocalStack, type LocalStack } from '../../../orchestrator/demo/local-stack.js';
import type { RolloutView } from '../../../orchestrator/rollouts/model.js';
import { scriptedFleet } from '../../support/scripted-device.js';

const BIN = fileURLToPath(new URL('../../../orchestrator/cli/fleet-ota.js', import.meta.url));
let stack: LocalStack;
const scripted = scriptedFleet(() => stack);

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, FLEET_API_URL: stack.apiUrl, FLEET_API_TOKEN: stack.operatorToken } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  stack = await startLocalStack({ engine: { tickMs: 100 } });
});

afterAll(async () => {
  await scripted.close();
  await stack?.close();
});

describe('parseWaves', () => {
  it('reads cumulative shares, counts and "all"', () => {
    expect(parseWaves('1%,10%,all', {})).toEqual([{ percent: 1 }, { percent: 10 }, { percent: 100 }]);
    expect(parseWaves('5, 50', { bakeSeconds: 3 })).toEqual([{ count: 5, bakeSeconds: 3 }, { count: 50, bakeSeconds: 3 }]);
    expect(() => parseWaves('ten', {})).toThrow(/neither/);
  });
});

describe('fleet-ota rollouts', () => {
  it('creates a manual rollout, pauses, resumes, approves and watches it finish', async () => {
    await scripted.add('cli', 10, () => 'succeed', ['g-cli']);
    const releaseId = await scripted.release();

    const created = await cli('rollouts', 'create', '--release', releaseId, '--group', 'g-cli', '--waves', '2,all', '--manual', '--json');
    expect(created.code, created.stderr).toBe(0);
    const view = JSON.parse(created.stdout) as RolloutView;
    expect(view.waves.map((w) => w.size)).toEqual([2, 8]);
    await stack.waitForRollout(view.id, (v) => v.waves[0]!.status === 'awaiting_approval');

    const paused = await cli('rollouts', 'pause', view.id, '--reason', 'lunch', '--json');
    expect(JSON.parse(paused.stdout)).toMatchObject({ status: 'paused', statusReason: 'lunch' });
    expect((await cli('rollouts', 'pause', view.id)).code).toBe(3); // refused: already paused
    expect(JSON.parse((await cli('rollouts', 'resume', view.id, '--json')).stdout).status).toBe('running');
    expect((await cli('rollouts', 'approve', view.id)).code).toBe(0);

    const watched = await cli('rollouts', 'watch', view.id);
    expect(watched.code).toBe(0);
    expect(watched.stdout).toMatch(/completed/);
    expect(watched.stdout).toMatch(/wave 1 \[#+\]\s+8\/8/);

    const list = await cli('rollouts', 'list');
    expect(list.stdout).toContain(view.id);
    const devices = JSON.parse((await cli('rollouts', 'devices', view.id, '--state', 'succeeded', '--json')).stdout) as { devices: unknown[] };
    expect(devices.devices).toHaveLength(10);
  });

  it('fails clearly: unknown rollout (3), bad waves (2), no token (3)', async () => {
    expect((await cli('rollouts', 'show', 'nope')).code).toBe(3);
    const bad = await cli('rollouts', 'create', '--release', 'x', '--waves', 'ten');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('bad_waves');
    const anonymous = await new Promise<number>((resolve) => {
      execFile(process.execPath, [BIN, 'rollouts', 'list'], { env: { ...process.env, FLEET_API_URL: stack.apiUrl, FLEET_API_TOKEN: '' } }, (error) => resolve(error ? Number((error as { code?: number }).code) : 0));
    });
    expect(anonymous).toBe(3);
  });
});
