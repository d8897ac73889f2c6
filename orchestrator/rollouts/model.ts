// Rollout and wave states as stored and served (docs/design.md#rollouts).
import type { DeviceState } from '../../protocol/index.js';
import type { RolloutSpec } from './spec.js';

export const ROLLOUT_STATUSES = ['created', 'running', 'paused', 'aborted', 'completed'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export const WAVE_STATUSES = ['pending', 'notifying', 'baking', 'awaiting_approval', 'done'] as const;
export type WaveStatus = (typeof WAVE_STATUSES)[number];

export type StateCounts = Partial<Record<DeviceState, number>>;
export type ReasonCounts = Record<string, number>;

export interface WaveView {
  index: number;
  size: number;
  status: WaveStatus;
  /** Epoch seconds when notification of the wave began / finished. */
  notifyStartedAt?: number;
  notifiedAt?: number;
  approved: boolean;
  counts: StateCounts;
  reasons: ReasonCounts;
}

export interface RolloutView {
  id: string;
  releaseId: string;
  manifestSha256: string;
  status: RolloutStatus;
  /** Why the rollout is paused / aborted (threshold, operator, ...). */
  statusReason?: string;
  currentWave: number;
  createdAt: string;
  updatedAt: string;
  spec: RolloutSpec;
  total: number;
  counts: StateCounts;
  reasons: ReasonCounts;
  waves: WaveView[];
}
