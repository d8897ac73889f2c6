// The only boundary between rollout logic and Redis: creation (recorded waves), views, and the
// atomic transitions of scripts.ts. Everything durable about a rollout lives here.
import type { Redis } from 'ioredis';
import { DEVICE_STATES, formatWireTime, type DeviceState } from '../../protocol/index.js';
import { RolloutError } from './errors.js';
import type { ReasonCounts, RolloutStatus, RolloutView, StateCounts, WaveStatus, WaveView } from './model.js';
import { packEntry, parseEntry, rolloutIndexKeys, rolloutKeys, type DeviceRolloutEntry } from './redis-keys.js';
import { rolloutScripts, type RolloutScripts } from './scripts.js';
import type { RolloutSpec } from './spec.js';

/** Writes per pipeline when recording large waves. */
const WRITE_CHUNK = 2_000;

export interface RolloutRecord {
  id: string;
  releaseId: string;
  manifestSha256: string;
  status: RolloutStatus;
  statusReason: string;
  currentWave: number;
  waveCount: number;
  seq: number;
  total: number;
  createdAt: string;
  updatedAt: string;
  spec: RolloutSpec;
}

export interface WaveRecord {
  status: WaveStatus;
  size: number;
  slices: number;
  notifyStartedAt?: number;
  notifiedAt?: number;
  approved: boolean;
  overridden: boolean;
}

function splitCounts(hash: Record<string, string>): { counts: StateCounts; reasons: ReasonCounts } {
  const counts: StateCounts = {};
  const reasons: ReasonCounts = {};
  for (const [field, value] of Object.entries(hash)) {
    const n = Number(value);
    if (field.startsWith('reason:')) {
      if (n > 0) reasons[field.slice(7)] = n;
    } else if ((DEVICE_STATES as readonly string[]).includes(field)) {
      if (n > 0) counts[field as DeviceState] = n;
    }
  }
  return { counts, reasons };
}

export class RolloutStore {
  readonly scripts: RolloutScripts;

  constructor(readonly redis: Redis, readonly prefix: string) {
    this.scripts = rolloutScripts(redis);
  }

  keys(rolloutId: string) {
    return rolloutKeys(this.prefix, rolloutId);
  }

  /** Records a rollout and its waves in one MULTI: all of it or nothing. */
  async create(input: { id: string; spec: RolloutSpec; manifestSha256: string; waves: string[][]; now: number }): Promise<RolloutRecord> {
    const k = this.keys(input.id);
    const index = rolloutIndexKeys(this.prefix);
    if (await this.redis.exists(k.rollout)) throw new RolloutError('rollout_exists', `rollout ${input.id} exists`);
    const seq = await this.redis.incr(index.sequence);
    const at = formatWireTime(input.now);
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
      if (members.length > 0) tx.hset(k.waveCounts(wave), 'queued', members.length);
    });
    if (total > 0) tx.hset(k.counts, 'queued', total);
    const record: RolloutRecord = {
      id: input.id,
      releaseId: input.spec.releaseId,
      manifestSha256: input.manifestSha256,
      status: input.spec.start ? 'running' : 'created',
      statusReason: '',
      currentWave: 0,
      waveCount: input.waves.length,
      seq,
      total,
      createdAt: at,
      updatedAt: at,
      spec: input.spec,
    };
    tx.hset(k.rollout, { ...record, spec: JSON.stringify(record.spec) });
    tx.zadd(index.index, seq, input.id);
    const results = await tx.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('rollout creation transaction aborted');
    return record;
  }

  async get(rolloutId: string): Promise<RolloutRecord | undefined> {
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
      spec: JSON.parse(h.spec ?? '{}') as RolloutSpec,
    };
  }

  async require(rolloutId: string): Promise<RolloutRecord> {
    const record = await this.get(rolloutId);
    if (!record) throw new RolloutError('rollout_not_found', `no rollout ${rolloutId}`);
    return record;
  }

  async getWave(rolloutId: string, wave: number): Promise<WaveRecord> {
    const h = await this.redis.hgetall(this.keys(rolloutId).wave(wave));
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

  async waveCounts(rolloutId: string, wave: number): Promise<{ counts: StateCounts; reasons: ReasonCounts }> {
    return splitCounts(await this.redis.hgetall(this.keys(rolloutId).waveCounts(wave)));
  }

  async waveMembers(rolloutId: string, wave: number, offset: number, count: number): Promise<string[]> {
    return this.redis.lrange(this.keys(rolloutId).waveMembers(wave), offset, offset + count - 1);
  }

  async view(rolloutId: string): Promise<RolloutView> {
    const r = await this.require(rolloutId);
    const k = this.keys(rolloutId);
    const pipe = this.redis.pipeline();
    pipe.hgetall(k.counts);
    for (let w = 0; w < r.waveCount; w++) pipe.hgetall(k.wave(w)).hgetall(k.waveCounts(w));
    const replies = ((await pipe.exec()) ?? []).map(([, value]) => value as Record<string, string>);
    const totals = splitCounts(replies[0] ?? {});
    const waves: WaveView[] = [];
    for (let w = 0; w < r.waveCount; w++) {
      const h = replies[1 + w * 2] ?? {};
      const { counts, reasons } = splitCounts(replies[2 + w * 2] ?? {});
      const view: WaveView = { index: w, size: Number(h.size ?? 0), status: (h.status ?? 'pending') as WaveStatus, approved: h.approved === '1', counts, reasons };
      if (h.notifyStartedAt) view.notifyStartedAt = Number(h.notifyStartedAt);
      if (h.notifiedAt) view.notifiedAt = Number(h.notifiedAt);
      waves.push(view);
    }
    const view: RolloutView = {
      id: r.id,
      releaseId: r.releaseId,
      manifestSha256: r.manifestSha256,
      status: r.status,
      currentWave: r.currentWave,
      createdAt: r.createdAt,
      updatedAt: r.updatedAt,
      spec: r.spec,
      total: r.total,
      counts: totals.counts,
      reasons: totals.reasons,
      waves,
    };
    if (r.statusReason) view.statusReason = r.statusReason;
    return view;
  }

  /** Newest first, cursor = creation sequence to continue below. */
  async list(limit: number, before?: number): Promise<{ ids: string[]; next?: number }> {
    const index = rolloutIndexKeys(this.prefix).index;
    const max = before === undefined ? '+inf' : `(${before}`;
    const rows = await this.redis.zrevrangebyscore(index, max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit);
    const ids: string[] = [];
    let last: number | undefined;
    for (let i = 0; i < rows.length; i += 2) {
      ids.push(rows[i]!);
      last = Number(rows[i + 1]);
    }
    return ids.length === limit && last !== undefined ? { ids, next: last } : { ids };
  }

  async deviceEntry(rolloutId: string, deviceId: string): Promise<DeviceRolloutEntry | undefined> {
    return parseEntry(await this.redis.hget(this.keys(rolloutId).devices, deviceId));
  }

  /** One page of devices, optionally of one state / wave; HSCAN cursor semantics. */
  async devices(rolloutId: string, options: { cursor?: string; limit: number; state?: string; wave?: number }): Promise<{ devices: Array<{ id: string } & DeviceRolloutEntry>; cursor?: string }> {
    const key = this.keys(rolloutId).devices;
    const out: Array<{ id: string } & DeviceRolloutEntry> = [];
    let cursor = options.cursor ?? '0';
    // Bounded work per request: stop after a few scan rounds even if the filter matched little.
    for (let round = 0; round < 50 && out.length < options.limit; round++) {
      const [next, flat] = await this.redis.hscan(key, cursor, 'COUNT', Math.max(100, options.limit * 2));
      for (let i = 0; i < flat.length; i += 2) {
        const entry = parseEntry(flat[i + 1]);
        if (!entry) continue;
        if (options.state && entry.state !== options.state) continue;
        if (options.wave !== undefined && entry.wave !== options.wave) continue;
        out.push({ id: flat[i]!, ...entry });
      }
      cursor = next;
      if (cursor === '0') break;
    }
    return cursor === '0' ? { devices: out } : { devices: out, cursor };
  }

  async setStatus(rolloutId: string, expected: RolloutStatus[] | '*', status: RolloutStatus, reason: string, now: number): Promise<boolean> {
    const changed = await this.scripts.setRolloutStatus(this.keys(rolloutId).rollout, expected === '*' ? '*' : expected.join(','), status, reason, formatWireTime(now));
    return changed === 1;
  }

  async casWave(rolloutId: string, wave: number, expected: WaveStatus, next: WaveStatus, extraField = '', extraValue: string | number = ''): Promise<boolean> {
    return (await this.scripts.casField(this.keys(rolloutId).wave(wave), 'status', expected, next, extraField, extraValue)) === 1;
  }

  async advanceWave(rolloutId: string, from: number): Promise<boolean> {
    return (await this.scripts.casField(this.keys(rolloutId).rollout, 'currentWave', String(from), String(from + 1))) === 1;
  }

  /** Deletes every key of a rollout (tests and retention). */
  async remove(rolloutId: string): Promise<void> {
    const r = await this.get(rolloutId);
    const k = this.keys(rolloutId);
    const keys = [k.rollout, k.devices, k.counts, k.issued, k.notifyPace];
    for (let w = 0; w < (r?.waveCount ?? 0); w++) keys.push(k.wave(w), k.waveCounts(w), k.waveMembers(w), k.waveSlicesDone(w));
    await this.redis.del(...keys);
    await this.redis.zrem(rolloutIndexKeys(this.prefix).index, rolloutId);
  }
}
