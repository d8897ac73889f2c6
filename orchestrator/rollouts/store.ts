// Rollouts as the orchestrator sees them: typed records with its spec, views for the API, and
// its error codes, over the state layer's operations (state/rollouts), which alone talk to Redis.
import type { RedisClient as Redis } from '../../state/redis.js';
import { formatWireTime } from '../../protocol/index.js';
import { RolloutState } from '../../state/rollouts/rollout-state.js';
import type { RolloutRecord as StoredRollout, RolloutStatus } from '../../state/rollouts/records.js';
import { RolloutError } from './errors.js';
import type { RolloutView, WaveView } from './model.js';
import type { RolloutSpec } from './spec.js';
import { blastRadius } from './blast-radius.js';

export type { WaveRecord } from '../../state/rollouts/records.js';
export type RolloutRecord = StoredRollout<RolloutSpec>;

export class RolloutStore {
  /** The rollout operations of the state layer (transitions, pages, compare-and-sets). */
  readonly state: RolloutState;

  constructor(readonly redis: Redis, readonly prefix: string) {
    this.state = new RolloutState(redis, prefix);
  }

  /** Records a rollout and its waves: all of it or nothing. */
  async create(input: { id: string; spec: RolloutSpec; manifestSha256: string; waves: string[][]; now: number; status?: RolloutStatus; joinCursor?: number }): Promise<RolloutRecord> {
    const at = formatWireTime(input.now);
    const record = await this.state.create({
      id: input.id,
      releaseId: input.spec.releaseId,
      manifestSha256: input.manifestSha256,
      status: input.status ?? (input.spec.start ? 'running' : 'created'),
      spec: input.spec,
      at,
      waves: input.waves,
      ...(input.joinCursor !== undefined ? { joinCursor: input.joinCursor } : {}),
    });
    if (!record) throw new RolloutError('rollout_exists', `rollout ${input.id} exists`);
    return record;
  }

  get(rolloutId: string): Promise<RolloutRecord | undefined> {
    return this.state.get<RolloutSpec>(rolloutId);
  }

  async require(rolloutId: string): Promise<RolloutRecord> {
    const record = await this.get(rolloutId);
    if (!record) throw new RolloutError('rollout_not_found', `no rollout ${rolloutId}`);
    return record;
  }

  async view(rolloutId: string): Promise<RolloutView> {
    const r = await this.require(rolloutId);
    const { total, waves } = await this.state.countsAndWaves(rolloutId, r.waveCount);
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
      counts: total.counts,
      reasons: total.reasons,
      waves: waves.map((w, index) => {
        const wave: WaveView = { index, size: w.size, status: w.status, approved: w.approved, counts: w.counts, reasons: w.reasons };
        if (w.notifyStartedAt !== undefined) wave.notifyStartedAt = w.notifyStartedAt;
        if (w.notifiedAt !== undefined) wave.notifiedAt = w.notifiedAt;
        return wave;
      }),
      blastRadius: blastRadius({ waveSizes: waves.map((w) => w.size), failureThresholds: r.spec.waves.map((w) => w.failureThreshold), ...(r.spec.maxInFlight !== undefined ? { maxInFlight: r.spec.maxInFlight } : {}) }),
    };
    if (r.statusReason) view.statusReason = r.statusReason;
    return view;
  }

  setStatus(rolloutId: string, expected: RolloutStatus[] | '*', status: RolloutStatus, reason: string, now: number): Promise<boolean> {
    return this.state.setStatus(rolloutId, expected, status, reason, formatWireTime(now));
  }
}
