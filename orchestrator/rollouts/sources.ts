// What the rollout engine needs from the rest of the orchestrator, as small interfaces: the
// registry resolves targets, the release store yields signed manifests, the root store the chain.
import type { ReleaseEnvelope, RootEnvelope } from '../../protocol/index.js';
import type { Target } from './spec.js';

export interface ReleaseSource {
  get(releaseId: string): Promise<{ envelope: ReleaseEnvelope; digest: string } | undefined>;
}

export interface RootSource {
  current(): Promise<RootEnvelope | undefined>;
  /** Roots newer than `version`, oldest first. */
  chainSince(version: number): Promise<RootEnvelope[]>;
}

export interface TargetResolver {
  /** Sorted ids of the non-revoked devices matching the target (revoked ones too with includeRevoked). */
  resolveTarget(target: Target & { includeRevoked?: boolean }): Promise<string[]>;
  /** The installed sequence each device last reported (undefined: none yet), in input order. */
  installedSequences(deviceIds: readonly string[]): Promise<Array<number | undefined>>;
  /** Online now, and epoch seconds of the last sign of life, per device in input order. */
  lastAlive(deviceIds: readonly string[]): Promise<Array<{ online: boolean; at?: number }>>;
}
