// On the full local stack (real Redis, Aedes, MQTT, engine): a device's history across two
// rollouts with every transition's time, reason and report detail; the rollout actions in the
// audit log with their actor and reason; one log line per lifecycle event, threshold pause
// included. And the history cap holds (the Lua scripts trim as they append).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../../orchestrator/audit/audit-log.js';
import { startLocalStack, type LocalStack } from '../../../launcher/demo/local-stack.js';
import { createRedis } from '../../../state/redis.js';
import { DEVICE_HISTORY_MAX_ENTRIES, deviceHistoryKey, readDeviceHistory, type DeviceHistoryEntry } from '../../../state/rollouts/device-history.js';
import { rolloutKeys } from '../../../state/rollouts/keys.js';
import { RolloutState } from '../../../state/rollouts/rollout-state.js';
import { scriptedFleet } from '../../support/scripted-device.js';
import { deletePrefix, testPrefix } from '../helpers.js';

let stack: LocalStack;
const scripted = scriptedFleet(() => stack);
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  stack = await startLocalStack({ engine: { tickMs: 100 }, logger: pino({ level: 'info' }, sink) });
});

afterAll(async () => {
  await scripted.close();
  await stack?.close();
});

describe('device history and rollout audit', () => {
  it('records every transition across two rollouts, the operator actions with actor and reason, and logs each lifecycle event once', async () => {
    const [device] = await scripted.add('hist', 1, () => ({ fail: 'install_failed' }), ['g-hist']);
    const first = await stack.createRollout({ releaseId: await scripted.release(), target: { groups: ['g-hist'] }, waves: [{ percent: 100, failureThreshold: 0.25 }] });
    const paused = await stack.waitForRollout(first.id, (v) => v.status === 'paused');
    expect(paused.statusReason).toMatch(/failure threshold/);
    await stack.api('POST', `/v1/rollouts/${first.id}/abort`, { reason: 'bad build' });
    await stack.waitForRollout(first.id, (v) => v.status === 'aborted');

    device!.script = 'succeed';
    const second = await stack.createRollout({ releaseId: await scripted.release(), target: { groups: ['g-hist'] } });
    await stack.waitForRollout(second.id, (v) => v.status === 'completed');

    const { entries, limit } = await stack.api<{ entries: DeviceHistoryEntry[]; limit: number }>('GET', `/v1/devices/${device!.id}/history`);
    expect(limit).toBe(DEVICE_HISTORY_MAX_ENTRIES);
    const steps = entries.map((e) => `${e.rolloutId === first.id ? 1 : 2}:${e.from ?? ''}>${e.state}${e.reason ? `(${e.reason})` : ''}`);
    expect(steps).toEqual([
      '2:rebooting>succeeded', '2:installing>rebooting', '2:verifying>installing', '2:downloading>verifying', '2:accepted>downloading', '2:notified>accepted', '2:queued>notified',
      '1:downloading>failed(install_failed)', '1:accepted>downloading', '1:notified>accepted', '1:queued>notified',
    ]);
    // Newest first on one clock; reports carry their detail.
    expect([...entries].map((e) => e.at).sort().reverse()).toEqual(entries.map((e) => e.at));
    expect(entries[0]).toMatchObject({ source: 'report', detail: { counter: expect.any(Number), seq: expect.any(Number), installedReleaseId: 'factory', reportedAt: expect.any(String) } });
    expect(entries.at(-1)).toMatchObject({ source: 'engine' });
    expect(entries[0]!.detail!.seq).toBeGreaterThan(entries[7]!.detail!.seq!);
    const page = await stack.api<{ entries: DeviceHistoryEntry[] }>('GET', `/v1/devices/${device!.id}/history?limit=2`);
    expect(page.entries).toEqual(entries.slice(0, 2));
    await expect(stack.api('GET', '/v1/devices/nobody/history')).rejects.toThrow(/404|not_found/);

    const audit = await stack.api<{ entries: AuditEntry[] }>('GET', `/v1/audit?target=${first.id}`);
    expect(audit.entries.map((e) => e.action)).toEqual(['rollout.abort', 'rollout.create']);
    expect(audit.entries[0]).toMatchObject({ reason: 'bad build', actor: { via: 'api', role: 'operator', tokenId: expect.stringMatching(/^[0-9a-f]{12}$/), label: expect.stringContaining('FLEET_OPERATOR_TOKEN') } });
    expect(JSON.stringify(audit)).not.toContain(stack.operatorToken);

    const logged = (rolloutId: string) => lines.filter((l) => l.rolloutId === rolloutId && typeof l.event === 'string' && l.event !== 'rollout.counts').map((l) => String(l.event));
    expect(logged(first.id).filter((e) => e.startsWith('rollout.'))).toEqual(['rollout.created', 'rollout.started', 'rollout.paused', 'rollout.aborted']);
    expect(logged(second.id).filter((e) => e.startsWith('rollout.'))).toEqual(['rollout.created', 'rollout.started', 'rollout.completed']);
    expect(logged(second.id)).toContain('wave.notifying');
    const pause = lines.find((l) => l.rolloutId === first.id && l.event === 'rollout.paused')!;
    expect(pause).toMatchObject({ level: 40, reason: expect.stringMatching(/failure threshold/), msg: expect.stringMatching(/^rollout\.paused .*failure threshold/) });
    expect(lines.find((l) => l.rolloutId === first.id && l.event === 'rollout.aborted')).toMatchObject({ reason: 'bad build' });
  }, 60_000);
});

describe('history bound', () => {
  it(`keeps the ${DEVICE_HISTORY_MAX_ENTRIES} most recent transitions of a device`, async () => {
    const prefix = testPrefix('history-cap');
    const redis = createRedis();
    try {
      const stateOps = new RolloutState(redis, prefix);
      const apply = async (rolloutId: string, seq: number, state: string) => (await stateOps.applyStatusReports([{ deviceId: 'cap-1', rolloutId, counter: 1, seq, state, progress: 0, reason: '', at: '2030-01-01T00:00:00Z', installedReleaseId: 'factory', installedSequence: 0, rootVersion: 1 }]))[0]!.outcome;
      const states = ['accepted', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded'] as const;
      const rollouts = Math.ceil(DEVICE_HISTORY_MAX_ENTRIES / states.length) + 3;
      let seq = 0;
      for (let r = 0; r < rollouts; r++) {
        await redis.hset(rolloutKeys(prefix, `r${r}`).devices, 'cap-1', 'notified|0|1|0|');
        for (const state of states) {
          expect(await apply(`r${r}`, ++seq, state)).toBe('applied');
        }
        // A stale report is no transition: nothing appended.
        expect(await apply(`r${r}`, seq, 'succeeded')).toBe('stale');
      }
      expect(await redis.llen(deviceHistoryKey(prefix, 'cap-1'))).toBe(DEVICE_HISTORY_MAX_ENTRIES);
      const kept = await readDeviceHistory(redis, prefix, 'cap-1');
      expect(kept).toHaveLength(DEVICE_HISTORY_MAX_ENTRIES);
      expect(kept[0]).toMatchObject({ rolloutId: `r${rollouts - 1}`, state: 'succeeded', detail: { seq } });
      expect(kept.at(-1)!.detail!.seq).toBe(seq - DEVICE_HISTORY_MAX_ENTRIES + 1);
    } finally {
      await deletePrefix(redis, prefix);
      await redis.quit();
    }
  });
});
