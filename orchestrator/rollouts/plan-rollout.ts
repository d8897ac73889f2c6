// What a rollout would do, computed without writing anything: the target after the release's
// class, revocation and the spec's exclusions, each excluded device with its reason, the waves
// and their members, the estimated duration and the blast-radius bound. `create` records this
// plan; the dry run (POST /v1/rollouts/preview) returns it (docs/design.md#dry-run).
import { blastRadius, type BlastRadius } from './blast-radius.js';
import { RolloutError } from './errors.js';
import { planWaves } from './plan-waves.js';
import type { ReleaseSource, TargetResolver } from './sources.js';
import type { RolloutSpec } from './spec.js';

/** Why a device of the target's selectors is not in the rollout. */
export const EXCLUSION_REASONS = ['wrong_class', 'revoked', 'up_to_date', 'offline'] as const;
export type ExclusionReason = (typeof EXCLUSION_REASONS)[number];

/** Ids listed per wave and per exclusion reason in a preview (the counts are always whole). */
export const PREVIEW_IDS_SHOWN = 100;

export interface RolloutPlan {
  id: string;
  release: { releaseId: string; sequence: number; vendorId: string; classId: string; digest: string };
  /** The devices the rollout covers, wave by wave (notification order). */
  waves: string[][];
  /** Devices of the target after exclusions (sum of the waves, plus any held back by holdRemainder). */
  targets: number;
  /** Devices in the rollout whose installed sequence is at or above the release's: they will reject it. */
  willReject: number;
  /** Excluded devices per reason; `wrong_class` and `revoked` only when explained (the dry run). */
  excluded: Partial<Record<ExclusionReason, string[]>>;
  blastRadius: BlastRadius;
  estimate: { seconds: number; basis: string };
}

/**
 * A lower bound on the time to the last wave's promotion: notification paced at
 * maxNotificationsPerMinute, then each wave's bake and health window. Device install times are
 * unknown here, so they are not in it; under maxInFlight they can dominate.
 */
export function estimateDuration(spec: RolloutSpec, waveSizes: readonly number[]): { seconds: number; basis: string } {
  // Under a ramp, its ceiling: the estimate stays a lower bound.
  const cap = spec.maxNotificationsPerMinute ?? spec.rate?.maxPerMinute;
  let seconds = 0;
  waveSizes.forEach((size, k) => {
    const wave = spec.waves[k];
    const notify = cap ? Math.ceil((size * 60) / cap) : 0;
    seconds += notify + (wave?.bakeSeconds ?? 0);
  });
  const parts = [cap ? `notification at ${cap} per minute` : 'notification uncapped (counted as 0 s)', 'each wave\'s bake'];
  const basis = `${parts.join(' + ')}; device download and install times are not included${spec.maxInFlight ? `, and under maxInFlight ${spec.maxInFlight} they pace notification` : ''}`;
  return { seconds, basis };
}

export interface PlanSources {
  releases: ReleaseSource;
  targets: TargetResolver;
}

/**
 * Plans a rollout. `explain` also resolves the devices the release's class and revocation leave
 * out (two more target resolutions: the dry run wants them, create does not). Throws nothing
 * itself for an empty target or a missing release: it answers undefined for the release (the
 * caller's refusal), and an empty plan for an empty target.
 */
export async function planRollout(sources: PlanSources, spec: RolloutSpec, id: string, now: number, explain: boolean): Promise<RolloutPlan | undefined> {
  const release = await sources.releases.get(spec.releaseId);
  if (!release) return undefined;
  const { sequence, vendorId, classId } = release.envelope.signed;
  const excluded: RolloutPlan['excluded'] = {};
  // Only devices of the release's vendor and class can install it.
  let targets = await sources.targets.resolveTarget({ ...spec.target, vendorId, classId });
  if (explain) {
    const inClass = new Set(targets);
    const withRevoked = await sources.targets.resolveTarget({ ...spec.target, vendorId, classId, includeRevoked: true });
    excluded.revoked = withRevoked.filter((d) => !inClass.has(d));
    // The target's own selectors without the release's class (a target naming a class keeps it).
    const anyClass = new Set(await sources.targets.resolveTarget({ ...spec.target, includeRevoked: true }));
    for (const d of withRevoked) anyClass.delete(d);
    excluded.wrong_class = [...anyClass].sort();
  }
  const installed = await sources.targets.installedSequences(targets);
  const upToDate = new Set(targets.filter((_, i) => installed[i] !== undefined && installed[i]! >= sequence));
  if (spec.exclude?.upToDate) {
    excluded.up_to_date = targets.filter((d) => upToDate.has(d));
    targets = targets.filter((d) => !upToDate.has(d));
  }
  const offlineFor = spec.exclude?.offlineForSeconds;
  if (offlineFor !== undefined && targets.length > 0) {
    const alive = await sources.targets.lastAlive(targets);
    const away = new Set(targets.filter((_, i) => !alive[i]!.online && (alive[i]!.at === undefined || now - alive[i]!.at! > offlineFor)));
    excluded.offline = targets.filter((d) => away.has(d));
    targets = targets.filter((d) => !away.has(d));
  }
  const waves = targets.length > 0 ? planWaves(id, targets, spec.waves) : spec.waves.map(() => []);
  const sizes = waves.map((w) => w.length);
  return {
    id,
    release: { releaseId: spec.releaseId, sequence, vendorId, classId, digest: release.digest },
    waves,
    targets: targets.length,
    willReject: targets.filter((d) => upToDate.has(d)).length,
    excluded,
    blastRadius: blastRadius({ waveSizes: sizes, failureThresholds: spec.waves.map((w) => w.failureThreshold), ...(spec.maxInFlight !== undefined ? { maxInFlight: spec.maxInFlight } : {}) }),
    estimate: estimateDuration(spec, sizes),
  };
}

function refusalOf(plan: RolloutPlan, spec: RolloutSpec): { refusal?: { code: string; message: string } } {
  const refusal = planRefusal(plan, spec);
  return refusal ? { refusal: { code: refusal.code, message: refusal.message } } : {};
}

/** The plan as the dry run answers it: counts in full, ids bounded to PREVIEW_IDS_SHOWN per list. */
export function previewOf(plan: RolloutPlan, spec: RolloutSpec) {
  const bounded = (ids: readonly string[]) => ({ count: ids.length, ids: ids.slice(0, PREVIEW_IDS_SHOWN), truncated: ids.length > PREVIEW_IDS_SHOWN });
  return {
    id: plan.id,
    releaseId: plan.release.releaseId,
    releaseSequence: plan.release.sequence,
    vendorId: plan.release.vendorId,
    classId: plan.release.classId,
    targets: plan.targets,
    willReject: plan.willReject,
    waves: plan.waves.map((members, index) => ({ index, size: members.length, failureThreshold: spec.waves[index]!.failureThreshold, members: bounded(members) })),
    excluded: Object.fromEntries(Object.entries(plan.excluded).map(([reason, ids]) => [reason, bounded(ids)])) as Partial<Record<ExclusionReason, ReturnType<typeof bounded>>>,
    blastRadius: plan.blastRadius,
    estimatedSeconds: plan.estimate.seconds,
    estimateBasis: plan.estimate.basis,
    maxInFlight: spec.maxInFlight ?? null,
    ...refusalOf(plan, spec),
  };
}
export type RolloutPreview = ReturnType<typeof previewOf>;

/**
 * Why creating this plan is refused, or undefined: an empty target, targets that would reject
 * the release as a rollback (unless `force`), a bound above the spec's maxBlastRadius. The dry
 * run shows it; create throws it.
 */
export function planRefusal(plan: RolloutPlan, spec: RolloutSpec): RolloutError | undefined {
  // A dynamic rollout may start empty: its devices may all be still to come.
  if (plan.targets === 0 && !spec.dynamic) return new RolloutError('empty_target', 'the target matches no device of the release\'s vendor and class (after exclusions)');
  if (plan.willReject > 0 && !spec.force) {
    return new RolloutError('release_not_newer', `${plan.willReject} of ${plan.targets} target devices have sequence ${plan.release.sequence} or higher installed and will reject ${spec.releaseId} (rollback); set force to create it anyway, or exclude.upToDate to leave them out`);
  }
  if (spec.maxBlastRadius !== undefined && plan.blastRadius.bound > spec.maxBlastRadius) {
    return new RolloutError('blast_radius_exceeded', `the blast-radius bound is ${plan.blastRadius.bound} devices (${plan.blastRadius.basis}), above maxBlastRadius ${spec.maxBlastRadius}: lower maxInFlight, the first waves or their failure thresholds`);
  }
  return undefined;
}
