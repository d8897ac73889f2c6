// Rollout and wave records as stored in Redis (docs/design.md#rollouts): statuses, the rollout
// head, a wave's head, and counts by device state and by reason. The orchestrator's views
// (orchestrator/rollouts/model.ts) are built from these.
import type { DeviceState } from '../../protocol/index.js';

/** `scheduled`: started, waiting for its schedule's startAt (orchestrator/rollouts/schedule.ts). */
export const ROLLOUT_STATUSES = ['created', 'scheduled', 'running', 'paused', 'aborted', 'completed'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export const WAVE_STATUSES = ['pending', 'notifying', 'baking', 'awaiting_approval', 'done'] as const;
export type WaveStatus = (typeof WAVE_STATUSES)[number];

export type StateCounts = Partial<Record<DeviceState, number>>;
export type ReasonCounts = Record<string, number>;

/** A rollout's head. `Spec` is the orchestrator's validated spec, stored as JSON. */
export interface RolloutRecord<Spec = unknown> {
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
  spec: Spec;
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

/** Counts of a rollout or a wave: devices by state, and by reason. */
export interface Counts {
  counts: StateCounts;
  reasons: ReasonCounts;
}
