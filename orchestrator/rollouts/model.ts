// Rollout and wave views as served (docs/design.md#rollouts); the stored records and statuses
// are the state layer's (state/rollouts/records.ts).
import type { RolloutStatus, ReasonCounts, StateCounts, WaveStatus } from '../../state/rollouts/records.js';
import type { RolloutSpec } from './spec.js';
import type { BlastRadius } from './blast-radius.js';

export { ROLLOUT_STATUSES, WAVE_STATUSES, type ReasonCounts, type RolloutStatus, type StateCounts, type WaveStatus } from '../../state/rollouts/records.js';

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
  /** The blast-radius bound of the planned waves (blast-radius.ts). */
  blastRadius: BlastRadius;
}
