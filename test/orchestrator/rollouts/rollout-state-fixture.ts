// The set-up the Lua rule tests share (transition-rule, report-order): a real Redis and a
// RolloutState under a fresh key prefix for the calling file, its keys deleted after its tests,
// and a status report with every field but the ones a case varies.
import { afterAll, beforeAll } from 'vitest';
import { createRedis, type RedisClient as Redis } from '../../../state/redis.js';
import { RolloutState } from '../../../state/rollouts/rollout-state.js';
import type { StatusReportInput } from '../../../state/rollouts/status-apply.js';
import { deletePrefix, testPrefix } from '../helpers.js';

export interface RolloutStateFixture {
  readonly prefix: string;
  /** Set in beforeAll. */
  readonly redis: Redis;
  readonly rollouts: RolloutState;
}

/** Registers beforeAll / afterAll in the calling file; read the fields inside tests. */
export function useRolloutState(area: string): RolloutStateFixture {
  const prefix = testPrefix(area);
  let redis: Redis | undefined;
  let rollouts: RolloutState | undefined;
  beforeAll(() => {
    redis = createRedis();
    rollouts = new RolloutState(redis, prefix);
  });
  afterAll(async () => {
    if (!redis) return;
    await deletePrefix(redis, prefix);
    redis.disconnect();
  });
  return {
    prefix,
    get redis() {
      return redis!;
    },
    get rollouts() {
      return rollouts!;
    },
  };
}

/** A report on directive counter 1, from a factory-image device under root v1, at a fixed time. */
export function statusReport(fields: Pick<StatusReportInput, 'deviceId' | 'rolloutId' | 'seq' | 'state'> & Partial<StatusReportInput>): StatusReportInput {
  return { counter: 1, progress: 0, reason: '', at: '2030-01-01T00:00:00Z', installedReleaseId: 'factory', installedSequence: 0, rootVersion: 1, ...fields };
}
