// The engine's per-device transitions (notify slices, wave settlement, reissue, cancel) as
// slot-safe steps: each script touches one rollout's slot or one device shard's slot
// (scripts.ts). Where an operation needs both, the order makes a retry finish what a crash
// interrupted:
//   prepareSlice: claim the devices (device shard: owner, counter allocated once per rollout)
//     -> record counters and issue times (rollout) -> supersede the previous owners' entries
//     (their rollouts) -> copy history from the outboxes (device shards). A retried slice gets
//     the same counters and previous owners back, and every step repeats as a no-op.
//   reissue: fresh counters (device shard) -> take them where the entry still holds the
//     expected one (rollout). A crash between wastes counters (never reused: still increasing).
//   History entries of engine transitions are written with the transition into the rollout's
//   outbox and copied to each device's history (flushHistory); a copy interrupted by a crash is
//   repeated by the next flush (every tick flushes), and an entry already copied is not added again.
import type { RedisClient as Redis } from '../redis.js';
import { parseEntry } from './entry.js';
import { deviceGroup, deviceRolloutKeys, rolloutKeys } from './keys.js';
import { TERMINAL_STATES } from '../../protocol/index.js';
import { defineRolloutScripts, rolloutScriptKeys, runScript } from './scripts.js';

/** Outbox entries copied per round of flushHistory. */
const OUTBOX_PAGE = 1_000;

/** Items grouped by the device shard of their id, each with its position in the input. */
export function byDeviceGroup<T>(items: readonly T[], idOf: (item: T) => string): Array<Array<{ item: T; index: number }>> {
  const groups = new Map<number, Array<{ item: T; index: number }>>();
  items.forEach((item, index) => {
    const group = deviceGroup(idOf(item));
    let list = groups.get(group);
    if (!list) groups.set(group, (list = []));
    list.push({ item, index });
  });
  return [...groups.values()];
}

export class RolloutTransitions {
  constructor(private readonly redis: Redis, private readonly prefix: string) {
    defineRolloutScripts(redis);
  }

  private records(ids: readonly string[]): string[] {
    return ids.map((id) => deviceRolloutKeys(this.prefix, id).record);
  }

  /** One device-shard script per group of `ids`; answers per id, in input order. */
  private async perDeviceGroup<R>(ids: readonly string[], run: (groupIds: string[]) => Promise<R[]>): Promise<R[]> {
    const out = new Array<R>(ids.length);
    await Promise.all(byDeviceGroup(ids, (id) => id).map(async (group) => {
      const answers = await run(group.map((g) => g.item));
      group.forEach((g, i) => {
        out[g.index] = answers[i]!;
      });
    }));
    return out;
  }

  async prepareSlice(rollout: { id: string; seq: number }, ids: readonly string[], now: number): Promise<Array<{ counter: number; issuedAt: number }>> {
    const result = ids.map(() => ({ counter: 0, issuedAt: 0 }));
    if (ids.length === 0) return result;
    const k = rolloutKeys(this.prefix, rollout.id);
    const entries = (await this.redis.hmget(k.devices, ...ids)).map(parseEntry);
    const live = ids.filter((_, i) => entries[i] && !(TERMINAL_STATES as ReadonlySet<string>).has(entries[i]!.state));
    const counterOf = new Map(ids.map((id, i) => [id, entries[i]?.counter ?? 0]));
    const claims = await this.perDeviceGroup(live, async (group) => {
      const flat = await runScript<Array<number | string>>(this.redis, 'claimDevices', this.records(group), [rollout.id, rollout.seq, ...group.map((id) => counterOf.get(id) ?? 0)]);
      return group.map((_, i) => ({ counter: Number(flat[i * 2]), previous: String(flat[i * 2 + 1] ?? '') }));
    });
    if (live.length > 0) {
      const recorded = await runScript<number[]>(this.redis, 'recordSlice', rolloutScriptKeys(this.prefix, rollout.id), [rollout.id, now, ...live.flatMap((id, i) => [id, claims[i]!.counter])]);
      const at = new Map(ids.map((id, i) => [id, i]));
      live.forEach((id, i) => {
        result[at.get(id)!] = { counter: Number(recorded[i * 2]), issuedAt: Number(recorded[i * 2 + 1]) };
      });
    }
    // The older owners' entries of the devices this rollout now owns.
    const previous = new Map<string, string[]>();
    live.forEach((id, i) => {
      const owner = claims[i]!.previous;
      if (owner && owner !== rollout.id && claims[i]!.counter > 0) {
        let list = previous.get(owner);
        if (!list) previous.set(owner, (list = []));
        list.push(id);
      }
    });
    await Promise.all([...previous].map(([owner, devices]) => runScript(this.redis, 'supersede', rolloutScriptKeys(this.prefix, owner), [owner, ...devices])));
    await Promise.all([rollout.id, ...previous.keys()].map((id) => this.flushHistory(id)));
    return result;
  }

  async markNotified(rolloutId: string, wave: number, slice: number, slices: number, now: number, ids: readonly string[]): Promise<boolean> {
    const done = await runScript<number>(this.redis, 'markNotified', rolloutScriptKeys(this.prefix, rolloutId, wave), [rolloutId, slice, slices, now, ...ids]);
    await this.flushHistory(rolloutId);
    return Number(done) === 1;
  }

  async settleWave(rolloutId: string, wave: number, to: 'timed_out' | 'canceled', reason: string, queuedOnly = false): Promise<string[]> {
    const notified = await runScript<string[]>(this.redis, 'settleWave', rolloutScriptKeys(this.prefix, rolloutId, wave), [rolloutId, to, reason, queuedOnly ? '1' : '0']);
    await this.flushHistory(rolloutId);
    return notified;
  }

  async reissue(rolloutId: string, issuedAt: number, items: ReadonlyArray<{ deviceId: string; counter: number }>): Promise<number[]> {
    if (items.length === 0) return [];
    const ids = items.map((d) => d.deviceId);
    const fresh = await this.perDeviceGroup(ids, async (group) => (await runScript<number[]>(this.redis, 'reissueCounters', this.records(group), [rolloutId])).map(Number));
    const taken = await runScript<number[]>(this.redis, 'recordReissue', rolloutScriptKeys(this.prefix, rolloutId), [rolloutId, issuedAt, ...items.flatMap((d, i) => [d.deviceId, d.counter, fresh[i]!])]);
    await this.flushHistory(rolloutId);
    return taken.map(Number);
  }

  cancelCounters(rolloutId: string, ids: readonly string[]): Promise<number[]> {
    return this.perDeviceGroup(ids, async (group) => (await runScript<number[]>(this.redis, 'cancelCounters', this.records(group), [rolloutId])).map(Number));
  }

  /**
   * Copies the rollout's outbox into the devices' histories (one script per device shard), then
   * drops what it copied. Safe to run concurrently and again after a crash: an entry already
   * among a device's newest is not added twice, and only the copier that still sees the same
   * head trims.
   */
  async flushHistory(rolloutId: string): Promise<void> {
    const outbox = rolloutKeys(this.prefix, rolloutId).historyOutbox;
    for (;;) {
      const rows = await this.redis.lrange(outbox, 0, OUTBOX_PAGE - 1);
      if (rows.length === 0) return;
      const entries = rows.map((row) => {
        const tab = row.indexOf('\t');
        return { deviceId: row.slice(0, tab), json: row.slice(tab + 1) };
      });
      await Promise.all(byDeviceGroup(entries, (e) => e.deviceId).map((group) => runScript(this.redis, 'appendHistory', group.map((g) => deviceRolloutKeys(this.prefix, g.item.deviceId).history), group.map((g) => g.item.json))));
      const trimmed = await runScript<number>(this.redis, 'trimOutbox', [outbox], [rows[0]!, rows.length]);
      // Another copier got there first: it drains the rest.
      if (Number(trimmed) !== 1 || rows.length < OUTBOX_PAGE) return;
    }
  }
}
