// The rollout side of the state layer: every Redis read and write of a rollout, as named typed
// operations (creation, heads, counts, pages, compare-and-sets, and the atomic transitions of
// scripts.ts). The engine, the reconciler, the routes and ingestion call these and never Redis.
import type { RedisClient as Redis } from '../redis.js';
import { DEVICE_STATES, type DeviceState } from '../../protocol/index.js';
import { packEntry, parseEntry, type DeviceRolloutEntry } from './entry.js';
import { pageRolloutDevices, type DevicePageQuery } from './device-page.js';
import { deviceRolloutKeys, rolloutIndexKeys, rolloutKeys, waveCountsField } from './keys.js';
import type { Counts, ReasonCounts, RolloutRecord, RolloutStatus, StateCounts, WaveRecord, WaveStatus } from './records.js';
import { defineRolloutScripts, rolloutScriptKeys, runScript } from './scripts.js';
import { applyStatusReports, type StatusReportInput, type StatusApplyResult } from './status-apply.js';
import { RolloutTransitions } from './transitions.js';

/** Writes per pipeline when recording large waves. */
const WRITE_CHUNK = 2_000;

/** Counts of the rollout (fields without a wave prefix) or of one wave (fields `w<n>:...`, `wavePrefix` given). */
export function splitCounts(hash: Record<string, string>, wavePrefix?: string): Counts {
  const counts: StateCounts = {};
  const reasons: ReasonCounts = {};
  for (const [name, value] of Object.entries(hash)) {
    let field = name;
    if (wavePrefix !== undefined) {
      if (!name.startsWith(wavePrefix)) continue;
      field = name.slice(wavePrefix.length);
    }
    const n = Number(value);
    if (field.startsWith('reason:')) {
      if (n > 0) reasons[field.slice(7)] = n;
    } else if ((DEVICE_STATES as readonly string[]).includes(field)) {
      if (n > 0) counts[field as DeviceState] = n;
    }
  }
  return { counts, reasons };
}

function decodeWave(h: Record<string, string>): WaveRecord {
  const record: WaveRecord = {
    status: (h.status ?? 'pending') as WaveStatus,
    size: Number(h.size ?? 0),
    slices: Number(h.slices ?? 0),
    approved: h.approved === '1',
    overridden: h.overridden === '1',
  };
  if (h.notifyStartedAt) record.notifyStartedAt = Number(h.notifyStartedAt);
  if (h.notifiedAt) record.notifiedAt = Number(h.notifiedAt);
  return record;
}

export interface NewRollout<Spec> {
  id: string;
  releaseId: string;
  manifestSha256: string;
  status: RolloutStatus;
  spec: Spec;
  /** Wire time of creation. */
  at: string;
  /** Device ids per wave, in notification order. */
  waves: string[][];
  /** Dynamic rollouts: the registry change-log time (ms, Redis' clock) its target was resolved from. */
  joinCursor?: number;
}

/** What a notify slice signs for one device: counter 0 = skip it (settled, or a newer rollout owns it). */
export interface PreparedDevice {
  counter: number;
  /** Epoch seconds the directive was first issued at: a retried slice re-signs byte-identical. */
  issuedAt: number;
}

export class RolloutState {
  private readonly transitions: RolloutTransitions;

  constructor(readonly redis: Redis, readonly prefix: string) {
    defineRolloutScripts(redis);
    this.transitions = new RolloutTransitions(redis, prefix);
  }

  private keys(rolloutId: string) {
    return rolloutKeys(this.prefix, rolloutId);
  }

  // ---- creation and heads ------------------------------------------------------------------

  /**
   * Records a rollout and its waves; undefined if a rollout with this id exists. One MULTI over
   * the rollout's slot (all of it or nothing), then the index entry (another slot): a crash
   * between leaves a rollout that is not listed, never a listed one that does not exist.
   */
  async create<Spec>(input: NewRollout<Spec>): Promise<RolloutRecord<Spec> | undefined> {
    const k = this.keys(input.id);
    const index = rolloutIndexKeys(this.prefix);
    if (await this.redis.exists(k.rollout)) return undefined;
    const seq = await this.redis.incr(index.sequence);
    const total = input.waves.reduce((n, w) => n + w.length, 0);
    const tx = this.redis.multi();
    input.waves.forEach((members, wave) => {
      for (let i = 0; i < members.length; i += WRITE_CHUNK) {
        const chunk = members.slice(i, i + WRITE_CHUNK);
        tx.rpush(k.waveMembers(wave), ...chunk);
        const fields: string[] = [];
        for (const id of chunk) fields.push(id, packEntry({ state: 'queued', wave, counter: 0, progress: 0, reason: '' }));
        tx.hset(k.devices, ...fields);
      }
      tx.hset(k.wave(wave), { status: 'pending', size: members.length, slices: 0, approved: 0 });
      if (members.length > 0) tx.hset(k.counts, `${waveCountsField(wave)}queued`, members.length);
    });
    if (total > 0) tx.hset(k.counts, 'queued', total);
    const record: RolloutRecord<Spec> = {
      id: input.id,
      releaseId: input.releaseId,
      manifestSha256: input.manifestSha256,
      status: input.status,
      statusReason: '',
      currentWave: 0,
      waveCount: input.waves.length,
      seq,
      total,
      createdAt: input.at,
      updatedAt: input.at,
      spec: input.spec,
    };
    tx.hset(k.rollout, { ...record, spec: JSON.stringify(record.spec), ...(input.joinCursor !== undefined ? { joinCursor: input.joinCursor } : {}) });
    const results = await tx.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('rollout creation transaction aborted');
    await this.redis.zadd(index.index, seq, input.id);
    return record;
  }

  async get<Spec = unknown>(rolloutId: string): Promise<RolloutRecord<Spec> | undefined> {
    const h = await this.redis.hgetall(this.keys(rolloutId).rollout);
    if (!h.id) return undefined;
    return {
      id: h.id,
      releaseId: h.releaseId ?? '',
      manifestSha256: h.manifestSha256 ?? '',
      status: (h.status ?? 'created') as RolloutStatus,
      statusReason: h.statusReason ?? '',
      currentWave: Number(h.currentWave ?? 0),
      waveCount: Number(h.waveCount ?? 0),
      seq: Number(h.seq ?? 0),
      total: Number(h.total ?? 0),
      createdAt: h.createdAt ?? '',
      updatedAt: h.updatedAt ?? '',
      spec: JSON.parse(h.spec ?? '{}') as Spec,
    };
  }

  async getWave(rolloutId: string, wave: number): Promise<WaveRecord> {
    return decodeWave(await this.redis.hgetall(this.keys(rolloutId).wave(wave)));
  }

  async waveCounts(rolloutId: string, wave: number): Promise<Counts> {
    return splitCounts(await this.redis.hgetall(this.keys(rolloutId).counts), waveCountsField(wave));
  }

  /** The rollout's counts and one wave's, from one read of the counts hash. */
  async countsWithWave(rolloutId: string, wave: number): Promise<{ total: Counts; wave: Counts }> {
    const hash = await this.redis.hgetall(this.keys(rolloutId).counts);
    return { total: splitCounts(hash), wave: splitCounts(hash, waveCountsField(wave)) };
  }

  /** The rollout's counts and each wave's head and counts, in one round trip. */
  async countsAndWaves(rolloutId: string, waveCount: number): Promise<{ total: Counts; waves: Array<WaveRecord & Counts> }> {
    const k = this.keys(rolloutId);
    // One slot (the rollout's tag): a pipeline is fine on a cluster too.
    const pipe = this.redis.pipeline();
    pipe.hgetall(k.counts);
    for (let w = 0; w < waveCount; w++) pipe.hgetall(k.wave(w));
    const replies = ((await pipe.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value as Record<string, string>;
    });
    const counts = replies[0] ?? {};
    const waves: Array<WaveRecord & Counts> = [];
    for (let w = 0; w < waveCount; w++) waves.push({ ...decodeWave(replies[1 + w] ?? {}), ...splitCounts(counts, waveCountsField(w)) });
    return { total: splitCounts(counts), waves };
  }

  async waveMembers(rolloutId: string, wave: number, offset: number, count: number): Promise<string[]> {
    return this.redis.lrange(this.keys(rolloutId).waveMembers(wave), offset, offset + count - 1);
  }

  /** Epoch seconds the wave's notification began (metrics: notify latency), if it has. */
  async waveNotifyStartedAt(rolloutId: string, wave: number): Promise<number | undefined> {
    const value = await this.redis.hget(this.keys(rolloutId).wave(wave), 'notifyStartedAt');
    return value ? Number(value) : undefined;
  }

  /** Newest first, cursor = creation sequence to continue below. */
  async list(limit: number, before?: number): Promise<{ ids: string[]; next?: number }> {
    const max = before === undefined ? '+inf' : `(${before}`;
    const rows = await this.redis.zrevrangebyscore(rolloutIndexKeys(this.prefix).index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit);
    const ids: string[] = [];
    let last: number | undefined;
    for (let i = 0; i < rows.length; i += 2) {
      ids.push(rows[i]!);
      last = Number(rows[i + 1]);
    }
    return ids.length === limit && last !== undefined ? { ids, next: last } : { ids };
  }

  /** Status and last update of the newest `max` rollouts (metrics); a removed one is left out. */
  async recentHeads(max: number): Promise<Array<{ id: string; status: string; updatedAt: string }>> {
    const ids = await this.redis.zrevrange(rolloutIndexKeys(this.prefix).index, 0, max - 1);
    // One command per rollout (each its own slot), sent together.
    const heads = await Promise.all(ids.map((id) => this.redis.hmget(this.keys(id).rollout, 'status', 'updatedAt')));
    return ids.flatMap((id, i) => {
      const [status, updatedAt] = heads[i] ?? [];
      return status ? [{ id, status, updatedAt: updatedAt ?? '' }] : [];
    });
  }

  // ---- devices of a rollout ----------------------------------------------------------------

  async deviceEntry(rolloutId: string, deviceId: string): Promise<DeviceRolloutEntry | undefined> {
    return parseEntry(await this.redis.hget(this.keys(rolloutId).devices, deviceId));
  }

  /** One page of the rollout's devices, optionally of one state or wave (device-page.ts). */
  devicePage(rolloutId: string, query: DevicePageQuery): Promise<{ devices: Array<{ id: string } & DeviceRolloutEntry>; cursor?: string }> {
    return pageRolloutDevices(this.redis, this.prefix, rolloutId, query);
  }

  /** Each device's entry and the epoch seconds its directive was issued at. */
  async entriesWithIssued(rolloutId: string, ids: string[]): Promise<Array<{ entry: DeviceRolloutEntry | undefined; issuedAt: number | undefined }>> {
    if (ids.length === 0) return [];
    const k = this.keys(rolloutId);
    const [entries, issued] = await Promise.all([this.redis.hmget(k.devices, ...ids), this.redis.hmget(k.issued, ...ids)]);
    return ids.map((_, i) => ({ entry: parseEntry(entries[i]), issuedAt: issued[i] ? Number(issued[i]) : undefined }));
  }

  /** The rollout that owns each device now (the newest one that prepared it), or null. */
  async deviceOwners(deviceIds: readonly string[]): Promise<Array<string | null>> {
    return Promise.all(deviceIds.map((id) => this.redis.hget(deviceRolloutKeys(this.prefix, id).record, 'rolloutId')));
  }

  // ---- compare-and-sets on heads -----------------------------------------------------------

  async setStatus(rolloutId: string, expected: RolloutStatus[] | '*', status: RolloutStatus, reason: string, at: string): Promise<boolean> {
    return Number(await runScript(this.redis, 'setRolloutStatus', [this.keys(rolloutId).rollout], [expected === '*' ? '*' : expected.join(','), status, reason, at])) === 1;
  }

  async casWave(rolloutId: string, wave: number, expected: WaveStatus, next: WaveStatus, extraField = '', extraValue: string | number = ''): Promise<boolean> {
    return Number(await runScript(this.redis, 'casField', [this.keys(rolloutId).wave(wave)], ['status', expected, next, extraField, extraValue])) === 1;
  }

  async advanceWave(rolloutId: string, from: number): Promise<boolean> {
    return Number(await runScript(this.redis, 'casField', [this.keys(rolloutId).rollout], ['currentWave', String(from), String(from + 1)])) === 1;
  }

  /** Sets a wave's flag: `approved` (manual promotion) or `overridden` (resumed past a threshold). */
  async flagWave(rolloutId: string, wave: number, flag: 'approved' | 'overridden'): Promise<void> {
    await this.redis.hset(this.keys(rolloutId).wave(wave), flag, 1);
  }

  async setWaveSlices(rolloutId: string, wave: number, slices: number): Promise<void> {
    await this.redis.hset(this.keys(rolloutId).wave(wave), 'slices', slices);
  }

  /** 0 to notify now, else ms to wait: the rollout's notification pacer (scripts.ts: pace). */
  async pace(rolloutId: string, costMs: number, horizonMs: number): Promise<number> {
    return Number(await runScript(this.redis, 'pace', [this.keys(rolloutId).notifyPace], [costMs, horizonMs]));
  }

  // ---- per-device transitions (scripts.ts) -------------------------------------------------

  /**
   * Allocates each device's directive counter once, records its issue time and settles which
   * rollout owns the device (the newer one supersedes). One result per id (transitions.ts).
   */
  prepareSlice(rollout: { id: string; seq: number }, ids: string[], now: number): Promise<PreparedDevice[]> {
    return this.transitions.prepareSlice(rollout, ids, now);
  }

  /** queued -> notified for the slice's devices; true when this made the whole wave notified. */
  markNotified(rolloutId: string, wave: number, slice: number, slices: number, now: number, ids: string[]): Promise<boolean> {
    return this.transitions.markNotified(rolloutId, wave, slice, slices, now, ids);
  }

  /**
   * Dynamic rollouts: the ids not yet in the rollout join `wave` (its last) queued, and the
   * change-log cursor advances to `cursor` (scripts.ts joinWave). `closed` when the rollout or
   * the wave takes no more devices; else the wave's status and the ids that joined.
   */
  async joinWave(rolloutId: string, wave: number, cursor: number, ids: readonly string[]): Promise<{ closed: true } | { closed: false; waveStatus: WaveStatus; joined: string[] }> {
    const [first, ...joined] = await runScript<string[]>(this.redis, 'joinWave', rolloutScriptKeys(this.prefix, rolloutId, wave), [wave, cursor, ...ids]);
    return first === 'closed' ? { closed: true } : { closed: false, waveStatus: first as WaveStatus, joined };
  }

  /** How far (ms, Redis' clock) a dynamic rollout has read the registry's change log; undefined before its first sweep. */
  async joinCursor(rolloutId: string): Promise<number | undefined> {
    const value = await this.redis.hget(this.keys(rolloutId).rollout, 'joinCursor');
    return value === null ? undefined : Number(value);
  }

  /** Moves every unsettled device of the wave to `to`; returns those that may hold a directive (notified, or prepared by a slice in flight). */
  settleWave(rolloutId: string, wave: number, to: 'timed_out' | 'canceled', reason = ''): Promise<string[]> {
    return this.transitions.settleWave(rolloutId, wave, to, reason);
  }

  /** Cancels the wave's queued devices with `reason` (a schedule's end); returns those a slice in flight may have sent a directive. */
  cancelQueued(rolloutId: string, wave: number, reason: string): Promise<string[]> {
    return this.transitions.settleWave(rolloutId, wave, 'canceled', reason, true);
  }

  /** Records that the rollout's schedule ended, once: true for the caller that recorded it. */
  async markEnded(rolloutId: string, at: number): Promise<boolean> {
    return (await this.redis.hsetnx(this.keys(rolloutId).rollout, 'endedAt', at)) === 1;
  }

  /** Notifications so far (retries included) and devices succeeded: what an exponential rate ramps on. */
  async rateProgress(rolloutId: string): Promise<{ notified: number; succeeded: number }> {
    const [notified, succeeded] = await this.redis.hmget(this.keys(rolloutId).counts, 'notifications', 'succeeded');
    return { notified: Number(notified ?? 0), succeeded: Number(succeeded ?? 0) };
  }

  /** A fresh install counter for each device still holding `counter` (0 = skip). */
  reissue(rolloutId: string, issuedAt: number, items: Array<{ deviceId: string; counter: number }>): Promise<number[]> {
    return this.transitions.reissue(rolloutId, issuedAt, items);
  }

  /** A fresh cancel counter per device, 0 for a device a newer rollout owns. */
  cancelCounters(rolloutId: string, ids: string[]): Promise<number[]> {
    return this.transitions.cancelCounters(rolloutId, ids);
  }

  /**
   * The blast-radius gate of a slice (scripts.ts admitSlice): 'admitted' (its devices are now in
   * flight), 'full' (no room yet) or 'tripped' (the wave's failure threshold is crossed).
   */
  async admitSlice(rolloutId: string, wave: number, maxInFlight: number, failureThreshold: number, now: number, ids: readonly string[]): Promise<'admitted' | 'full' | 'tripped'> {
    const answer = Number(await runScript(this.redis, 'admitSlice', rolloutScriptKeys(this.prefix, rolloutId, wave), [wave, maxInFlight, failureThreshold, now, ...ids]));
    return answer === 1 ? 'admitted' : answer === 0 ? 'full' : 'tripped';
  }

  /** Devices admitted before `cutoff` (epoch seconds) and still unsettled: timed out, at most `limit`; returns them. */
  async expireInFlight(rolloutId: string, cutoff: number, limit: number): Promise<string[]> {
    const ids = await runScript<string[]>(this.redis, 'expireInFlight', rolloutScriptKeys(this.prefix, rolloutId), [rolloutId, cutoff, limit]);
    if (ids.length > 0) await this.flushHistory(rolloutId);
    return ids;
  }

  /** Devices in flight under maxInFlight now. */
  inFlightCount(rolloutId: string): Promise<number> {
    return this.redis.zcard(this.keys(rolloutId).inFlight);
  }

  /** Copies history entries still in the rollout's outbox to the devices (after a crash; the engine's tick calls it). */
  flushHistory(rolloutId: string): Promise<void> {
    return this.transitions.flushHistory(rolloutId);
  }

  /** Applies verified status reports in order; one result per report (status-apply.ts). */
  applyStatusReports(reports: readonly StatusReportInput[]): Promise<StatusApplyResult[]> {
    return applyStatusReports(this.redis, this.prefix, reports);
  }

  /** Deletes every key of a rollout (tests and retention). */
  async remove(rolloutId: string): Promise<void> {
    const r = await this.get(rolloutId);
    const k = this.keys(rolloutId);
    const keys = [k.rollout, k.devices, k.counts, k.issued, k.reports, k.historyOutbox, k.notifyPace, k.inFlight];
    for (let w = 0; w < (r?.waveCount ?? 0); w++) keys.push(k.wave(w), k.waveMembers(w), k.waveSlicesDone(w));
    await this.redis.del(...keys);
    await this.redis.zrem(rolloutIndexKeys(this.prefix).index, rolloutId);
  }
}
