// `fleet-ota rollouts ...` as an operator runs it: the real binary against a real orchestrator,
// broker and Redis, with scripted devices answering over MQTT.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseWaves, renderPreview } from '../../launcher/commands/rollouts.js';
import { startLocalStack, type LocalStack } from '../../launcher/demo/local-stack.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import { scriptedDevice, scriptedFleet } from '../support/scripted-device.js';
import type { RolloutPreview } from '../../orchestrator/rollouts/plan-rollout.js';
import { deviceKey } from '../../state/registry/index.js';

const BIN = fileURLToPath(new URL('../../launcher/fleet-ota.js', import.meta.url));
let stack: LocalStack;
const scripted = scriptedFleet(() => stack);

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, FLEET_API_URL: stack.apiUrl, FLEET_API_TOKEN: stack.operatorToken } }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every key of this stack's prefix but the engine queues' (other tests' ticks come and go), sorted. */
async function prefixKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await stack.redis.scan(cursor, 'MATCH', `${stack.prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch.filter((k) => !k.includes('bull:')));
  } while (cursor !== '0');
  return keys.sort();
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

// Each run of the binary starts tsx: seconds apiece on a loaded machine.
describe('fleet-ota rollouts', { timeout: 300_000 }, () => {
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
    // Waves count from 1 wherever a human reads them (the API's index stays 0-based).
    expect(watched.stdout).toMatch(/wave 1 \[#+\]\s+2\/2/);
    expect(watched.stdout).toMatch(/wave 2 \[#+\]\s+8\/8/);
    expect(watched.stdout).not.toMatch(/wave 0/);

    const list = await cli('rollouts', 'list');
    expect(list.stdout).toContain(view.id);
    const devices = JSON.parse((await cli('rollouts', 'devices', view.id, '--state', 'succeeded', '--json')).stdout) as { devices: unknown[] };
    expect(devices.devices).toHaveLength(10);
    const second = JSON.parse((await cli('rollouts', 'devices', view.id, '--wave', '2', '--json')).stdout) as { devices: Array<{ wave: number }> };
    expect(second.devices.map((d) => d.wave)).toEqual(Array(8).fill(1));
  });

  it('holds --limit, and its cursor leads through every device once', async () => {
    await scripted.add('page', 12, () => 'silent', ['g-page']);
    const created = await stack.createRollout({ releaseId: await scripted.release(), target: { groups: ['g-page'] }, start: false });
    const run = await cli('rollouts', 'devices', created.id, '--limit', '5', '--json');
    expect(run.code, run.stderr).toBe(0);
    const first = JSON.parse(run.stdout) as { devices: Array<{ id: string }>; cursor?: string };
    expect(first.devices).toHaveLength(5);
    const seen = first.devices.map((d) => d.id);
    let cursor = first.cursor;
    let pages = 1;
    while (cursor && pages < 10) {
      const page = await stack.api<{ devices: Array<{ id: string }>; cursor?: string }>('GET', `/v1/rollouts/${created.id}/devices?limit=5&cursor=${cursor}`);
      expect(page.devices.length).toBeLessThanOrEqual(5);
      seen.push(...page.devices.map((d) => d.id));
      cursor = page.cursor;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(12);
    expect(new Set(seen).size).toBe(12);
  });

  it('refuses an implicit whole fleet and waves that are not cumulative up to 100%, in JSON under --json', async () => {
    const noTarget = await cli('rollouts', 'create', '--release', 'rel-1', '--json');
    expect(noTarget.code).toBe(2);
    expect(JSON.parse(noTarget.stderr)).toMatchObject({ code: 'target_required' });
    expect(noTarget.stdout).toBe('');
    const both = await cli('rollouts', 'create', '--release', 'rel-1', '--all', '--group', 'g-cli');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('(invalid_target)');

    const releaseId = await scripted.release();
    const decreasing = await cli('rollouts', 'create', '--release', releaseId, '--all', '--waves', '10%,5%', '--json');
    expect(decreasing.code).toBe(3);
    expect(JSON.parse(decreasing.stderr)).toMatchObject({ code: 'invalid_waves', message: expect.stringContaining('cumulative') });
    // The API itself refuses, whatever the client.
    const post = (body: object) => fetch(`${stack.apiUrl}/v1/rollouts`, { method: 'POST', headers: { authorization: `Bearer ${stack.operatorToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ releaseId, ...body }) });
    for (const waves of [[{ percent: 10 }, { percent: 50 }], [{ count: 5 }, { count: 50 }], [{ percent: 100 }, { count: 5 }]]) {
      const answer = await post({ target: { all: true }, waves });
      expect(answer.status).toBe(422);
      expect(await answer.json()).toMatchObject({ code: 'invalid_waves' });
    }
    const empty = await post({ target: {} });
    expect(empty.status).toBe(422);
    expect(await empty.json()).toMatchObject({ code: 'target_required' });
    // A usage error from the parser is JSON too.
    const unknown = await cli('rollouts', 'list', '--json', '--bogus');
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr)).toMatchObject({ code: 'usage', message: expect.stringContaining('--bogus') });

    // Held on purpose: the rest of the group stays out of the rollout.
    await scripted.add('hold', 10, () => 'silent', ['g-hold']);
    const held = await cli('rollouts', 'create', '--release', releaseId, '--group', 'g-hold', '--waves', '10%,50%', '--hold-remainder', '--no-start', '--json');
    expect(held.code, held.stderr).toBe(0);
    expect((JSON.parse(held.stdout) as RolloutView).waves.map((w) => w.size)).toEqual([1, 4]);
  });

  it('says how many targets will reject an older release and refuses it without --force', async () => {
    const made = await scripted.add('older', 6, () => 'silent', ['g-older']);
    const older = await scripted.release();
    const newer = await scripted.release();
    const newerSequence = Number(newer.replace('rel-', ''));
    // What status ingestion records when 4 of them report `newer` installed.
    for (const d of made.slice(0, 4)) await stack.redis.hset(deviceKey(stack.prefix, d.id), 'installedReleaseId', newer, 'installedSequence', String(newerSequence));
    const refused = await cli('rollouts', 'create', '--release', older, '--group', 'g-older', '--no-start');
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('(release_not_newer)');
    expect(refused.stderr).toContain('4 of 6 target devices');
    const forced = await cli('rollouts', 'create', '--release', older, '--group', 'g-older', '--no-start', '--force');
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toContain('warning: 4 of 6 target devices');
  });

  it('--dry-run computes target, waves, exclusions with reasons, estimate and blast radius, and writes nothing, notifies no one', async () => {
    const made = await scripted.add('dry', 12, () => 'succeed', ['g-dry']);
    const releaseId = await scripted.release();
    const sequence = Number(releaseId.replace('rel-', ''));
    // Another class in the group, a revoked device, one up to date, one offline for an hour.
    const other = scriptedDevice('dry-other', stack.root.signed);
    await stack.api('POST', '/v1/devices', { id: other.id, publicKey: other.publicKey, vendorId: 'acme', classId: 'other-class', groups: ['g-dry'] });
    await stack.api('POST', `/v1/devices/${made[0]!.id}/revoke`, {});
    await stack.redis.hset(deviceKey(stack.prefix, made[1]!.id), 'installedReleaseId', releaseId, 'installedSequence', String(sequence));
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await stack.redis.hset(deviceKey(stack.prefix, made[2]!.id), 'presence', 'offline', 'presenceAt', hourAgo, 'lastSeenAt', hourAgo);
    const keysBefore = await prefixKeys();
    const args = ['rollouts', 'create', '--release', releaseId, '--group', 'g-dry', '--id', 'ro-dry', '--waves', '2,all', '--failure-threshold', '0', '--max-in-flight', '3',
      '--max-per-minute', '60', '--bake', '5', '--skip-up-to-date', '--skip-offline-for', '600', '--dry-run'];
    const dry = await cli(...args, '--json');
    expect(dry.code, dry.stderr).toBe(0);
    const preview = JSON.parse(dry.stdout) as RolloutPreview;
    expect(preview.targets).toBe(9);
    expect(preview.waves.map((w) => w.size)).toEqual([2, 7]);
    expect(preview.waves[1]!.members.ids).toHaveLength(7);
    expect({ ...preview.excluded }).toEqual({
      revoked: { count: 1, ids: [made[0]!.id], truncated: false },
      wrong_class: { count: 1, ids: [other.id], truncated: false },
      up_to_date: { count: 1, ids: [made[1]!.id], truncated: false },
      offline: { count: 1, ids: [made[2]!.id], truncated: false },
    });
    // 9 notifications at 60 a minute, plus two 5 s bakes; threshold 0 absorbs no failure, so 3 in flight bound it.
    expect(preview.estimatedSeconds).toBe(9 + 10);
    expect(preview.blastRadius.bound).toBe(3);
    expect(preview.refusal).toBeUndefined();
    const text = renderPreview(preview).join('\n');
    expect(text).toContain('excluded (offline): 1');
    expect(text).toContain('blast radius: at most 3 devices');
    // Nothing written, nothing published.
    expect(await prefixKeys()).toEqual(keysBefore);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(made.every((d) => d.received.length === 0)).toBe(true);
    // The dry run's members are create's members under the same id.
    const created = await cli(...args.filter((a) => a !== '--dry-run'), '--no-start', '--json');
    expect(created.code, created.stderr).toBe(0);
    const view = JSON.parse(created.stdout) as RolloutView;
    expect(view.total).toBe(9);
    expect(view.blastRadius.bound).toBe(3);
    const page = await stack.api<{ devices: Array<{ id: string; wave: number }> }>('GET', '/v1/rollouts/ro-dry/devices?wave=0&limit=10');
    expect(page.devices.map((d) => d.id).sort()).toEqual([...preview.waves[0]!.members.ids].sort());
    // A stated bound below the derived one is refused, and the dry run says so first.
    const tight = await cli(...args.map((a) => (a === 'ro-dry' ? 'ro-dry-2' : a)), '--max-blast-radius', '2');
    expect(tight.code).toBe(3);
    expect(tight.stdout).toContain('(blast_radius_exceeded)');
  });

  it('refuses approve on an automatic or paused rollout; create --watch exits 4 at a threshold pause; watch --json prints NDJSON', async () => {
    await scripted.add('auto', 4, () => 'silent', ['g-auto']);
    const created = await stack.createRollout({ releaseId: await scripted.release(), target: { groups: ['g-auto'] } });
    const running = await cli('rollouts', 'approve', created.id, '--json');
    expect(running.code).toBe(3);
    expect(JSON.parse(running.stderr)).toMatchObject({ code: 'not_approvable' });
    await stack.api('POST', `/v1/rollouts/${created.id}/pause`);
    const paused = await cli('rollouts', 'approve', created.id);
    expect(paused.code).toBe(3);
    expect(paused.stderr).toMatch(/paused.*resume/);
    expect((await stack.rollout(created.id)).waves[0]!.approved).toBe(false);
    await stack.api('POST', `/v1/rollouts/${created.id}/abort`);

    await scripted.add('bad', 4, () => ({ fail: 'install_failed' }), ['g-bad']);
    const watched = await cli('rollouts', 'create', '--release', await scripted.release(), '--group', 'g-bad', '--waves', '100%', '--failure-threshold', '0', '--watch', '--json');
    expect(watched.code, watched.stderr).toBe(4);
    const frames = watched.stdout.trim().split('\n').map((line) => JSON.parse(line) as RolloutView);
    expect(frames.at(-1)!.status).toBe('paused');
    expect(frames.at(-1)!.statusReason).toMatch(/threshold/);
    await stack.api('POST', `/v1/rollouts/${frames[0]!.id}/abort`);
    expect((await cli('rollouts', 'watch', frames[0]!.id)).code).toBe(5);
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
