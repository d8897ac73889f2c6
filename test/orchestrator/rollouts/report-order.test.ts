// issue 21 point 1: status `seq` survives a device storage reset. The rule has one source,
// protocol's reportOrder; the Lua that applies reports (scripts.ts applyStatus, on real Redis)
// is held to it for every (epoch, seq) order, and a refusal is recorded on the device.
import { describe, expect, it } from 'vitest';
import { rolloutKeys } from '../../../state/rollouts/keys.js';
import { decodeDeviceRecord } from '../../../state/device-record.js';
import { deviceKey } from '../../../state/registry/device-keys.js';
import { reportOrder } from '../../../protocol/index.js';
import { statusReport, useRolloutState } from './rollout-state-fixture.js';

const rid = 'r-order';
const fixture = useRolloutState('report-order');

async function apply(id: string, seq: number, state: string, epoch?: number): Promise<[string, number]> {
  const [result] = await fixture.rollouts.applyStatusReports([statusReport({ deviceId: id, rolloutId: rid, seq, state, ...(epoch !== undefined ? { epoch } : {}) })]);
  return [result!.outcome, result!.wave];
}

describe('reportOrder (protocol)', () => {
  it('compares seq within an epoch and epochs forward only', () => {
    expect(reportOrder(undefined, { seq: 0 })).toBe('newer');
    expect(reportOrder({ epoch: 5, seq: 9 }, { epoch: 5, seq: 10 })).toBe('newer');
    expect(reportOrder({ epoch: 5, seq: 9 }, { epoch: 5, seq: 9 })).toBe('stale');
    expect(reportOrder({ epoch: 5, seq: 9 }, { epoch: 6, seq: 1 })).toBe('newer');
    expect(reportOrder({ epoch: 5, seq: 9 }, { epoch: 4, seq: 100 })).toBe('stale_epoch');
    // A report without an epoch is epoch 0: a device that never sends one keeps today's rule.
    expect(reportOrder({ epoch: 0, seq: 3 }, { seq: 4 })).toBe('newer');
    expect(reportOrder({ epoch: 7, seq: 3 }, { seq: 4 })).toBe('stale_epoch');
  });
});

describe('applyStatus (Lua) follows reportOrder', () => {
  it('decides every (epoch, seq) pair as the rule does', async () => {
    const { redis, prefix } = fixture;
    const positions = [0, 1, 2].flatMap((epoch) => [1, 2, 3].map((seq) => ({ epoch, seq })));
    const mismatches: string[] = [];
    let n = 0;
    for (const last of positions) {
      for (const next of positions) {
        const id = `o${n++}`;
        // The device holds directive counter 1 in state notified; the first report sets the position.
        await redis.hset(rolloutKeys(prefix, rid).devices, id, 'notified|0|1|0|');
        await apply(id, last.seq, 'accepted', last.epoch);
        const [outcome] = await apply(id, next.seq, 'downloading', next.epoch);
        const expected = reportOrder(last, next);
        const got = outcome === 'applied' ? 'newer' : outcome;
        if (got !== expected) mismatches.push(`${JSON.stringify(last)} then ${JSON.stringify(next)}: ${outcome}, rule says ${expected}`);
      }
    }
    expect(n).toBe(81);
    expect(mismatches).toEqual([]);
  });

  it('takes a reset device (new epoch, seq from 1) and shows a refused report on the device', async () => {
    const { redis, prefix } = fixture;
    const id = 'reset-1';
    await redis.hset(deviceKey(prefix, id), 'id', id, 'publicKey', 'x');
    await redis.hset(rolloutKeys(prefix, rid).devices, id, 'notified|0|1|0|');
    expect((await apply(id, 41, 'accepted', 1000))[0]).toBe('applied');
    expect((await apply(id, 42, 'downloading', 1000))[0]).toBe('applied');
    // Storage reset: seq restarts at 1 under a later epoch, and the report counts.
    expect((await apply(id, 1, 'verifying', 2000))[0]).toBe('applied');
    expect(await redis.hget(rolloutKeys(prefix, rid).devices, id)).toMatch(/^verifying\|/);
    // A replay of the old life's report is refused, counted and shown, and changes nothing.
    expect((await apply(id, 43, 'failed', 1000))[0]).toBe('stale_epoch');
    expect((await apply(id, 1, 'verifying', 2000))[0]).toBe('stale');
    const device = decodeDeviceRecord(await redis.hgetall(deviceKey(prefix, id)))!;
    expect(device.statusEpoch).toBe(2000);
    expect(device.statusRefusedCount).toBe(2);
    expect(device.statusRefused).toMatchObject({ reason: 'stale', epoch: 2000, seq: 1, lastEpoch: 2000, lastSeq: 1, rolloutId: rid, counter: 1 });
    expect(await redis.hget(rolloutKeys(prefix, rid).devices, id)).toMatch(/^verifying\|/);
  });
});

describe('reported attributes (docs/protocol.md#status-report)', () => {
  it('a newer report with attributes replaces the set; one without leaves it; a stale one changes nothing', async () => {
    const { redis, rollouts, prefix } = fixture;
    const id = 'attr-1';
    await redis.hset(rolloutKeys(prefix, rid).devices, id, 'notified|0|1|0|');
    const report = (seq: number, at: string, attributes?: Record<string, string | number>) =>
      statusReport({ deviceId: id, rolloutId: rid, seq, state: 'accepted', at, ...(attributes ? { attributes } : {}) });
    const stored = async () => {
      // The device is not registered here (no key): the raw fields, decoded as the codec does.
      const record = decodeDeviceRecord({ id, publicKey: 'k', ...(await redis.hgetall(deviceKey(prefix, id))) });
      return [record?.reportedAttributes, record?.reportedAt];
    };
    await rollouts.applyStatusReports([report(1, '2030-01-01T00:00:01Z', { hwrev: 'B', freeStorage: 5_000_000, modem: 'EG25' })]);
    expect(await stored()).toEqual([{ hwrev: 'B', freeStorage: 5_000_000, modem: 'EG25' }, '2030-01-01T00:00:01Z']);
    await rollouts.applyStatusReports([report(2, '2030-01-01T00:00:02Z')]);
    expect(await stored()).toEqual([{ hwrev: 'B', freeStorage: 5_000_000, modem: 'EG25' }, '2030-01-01T00:00:01Z']);
    await rollouts.applyStatusReports([report(3, '2030-01-01T00:00:03Z', { hwrev: 'B', freeStorage: 4_000_000 })]);
    expect(await stored()).toEqual([{ hwrev: 'B', freeStorage: 4_000_000 }, '2030-01-01T00:00:03Z']);
    await rollouts.applyStatusReports([report(3, '2030-01-01T00:00:04Z', { hwrev: 'Z' })]);
    expect(await stored()).toEqual([{ hwrev: 'B', freeStorage: 4_000_000 }, '2030-01-01T00:00:03Z']);
  });
});
