// What an operator asks for when creating a rollout (docs/design.md#rollouts): validated with zod
// at the HTTP boundary and stored with the rollout so every engine process reads the same plan.
import { z } from 'zod';
import { isRolloutErrorCode, RolloutError } from './errors.js';
import { DEVICE_ID, NAME_ID, REASON_CODES, parseWireTime } from '../../protocol/index.js';
import { QUERY_LIMITS } from '../registry/query/limits.js';
import { parseQuery } from '../registry/query/parse-query.js';
import { windowProblem, type RateSpec, type ScheduleSpec } from './schedule.js';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
/** A wire time (RFC 3339 UTC, whole seconds) that names a real instant. */
const wireTime = z.string().max(20).refine((text) => parseWireTime(text) !== undefined, 'not a time of the form 2026-01-31T22:00:00Z');
/** Maintenance windows per rollout. */
export const MAX_WINDOWS = 16;
/** The longest maintenance window: a week (a longer one is no window). */
export const MAX_WINDOW_MINUTES = 7 * 24 * 60;
/** Tries of a device after its first failure, per rollout (retry policy and operator retries). */
export const MAX_RETRY_ATTEMPTS = 10;
const MAX_RATE = 10_000_000;
const fraction = z.number().min(0).max(1);
/** Shorter lifetimes would expire in flight under ordinary clock skew and broker latency. */
export const MIN_DIRECTIVE_TTL_SECONDS = 5;

/** One wave: a cumulative share of the target, a count, the rest, or named canary devices. */
export const waveSpecSchema = z.object({
  /** Cumulative share of the target reached by the end of this wave (0 < percent <= 100). */
  percent: z.number().gt(0).max(100).optional(),
  /** Number of devices in this wave. */
  count: z.number().int().min(1).max(10_000_000).optional(),
  /** Exactly these devices (canaries); they are taken out of later waves. */
  deviceIds: z.array(z.string().regex(DEVICE_ID)).min(1).max(10_000).optional(),
  /** Fraction of the wave that must succeed before promotion. */
  successThreshold: fraction.default(0.9),
  /** Fraction of the wave that may fail before the failure action fires (strictly above trips it). */
  failureThreshold: fraction.default(0.1),
  /** Minimum seconds between the last notification of the wave and its promotion. */
  bakeSeconds: z.number().int().min(0).max(30 * 86_400).default(0),
  /** Seconds a notified device has to reach a terminal state before it is timed out. */
  deviceTimeoutSeconds: z.number().int().min(1).max(30 * 86_400).default(600),
  promotion: z.enum(['auto', 'manual']).default('auto'),
}).refine((w) => [w.percent, w.count, w.deviceIds].filter((x) => x !== undefined).length <= 1, 'a wave has one of percent, count or deviceIds');

export const targetSchema = z.object({
  /** The whole fleet of the release's vendor and class: must be said, never implied by an empty target. */
  all: z.literal(true).optional(),
  deviceIds: z.array(z.string().regex(DEVICE_ID)).max(1_000_000).optional(),
  groups: z.array(z.string().regex(NAME_ID)).max(64).optional(),
  tags: z.array(z.string().regex(NAME_ID)).max(64).optional(),
  vendorId: z.string().regex(NAME_ID).optional(),
  classId: z.string().regex(NAME_ID).optional(),
  installedReleaseId: z.string().regex(NAME_ID).optional(),
  /** A device query (docs/design.md#device-queries); a bad one is `invalid_query` with its position. */
  query: z.string().max(QUERY_LIMITS.maxChars).optional(),
});

/** A maintenance window (hawkBit's model): it opens at each occurrence of `cron` in `timeZone` and lasts `durationMinutes`. */
export const windowSchema = z.object({
  /** Five fields (minute hour day-of-month month day-of-week), or six with seconds first; croner's syntax. */
  cron: z.string().min(9).max(128),
  durationMinutes: z.number().int().min(1).max(MAX_WINDOW_MINUTES),
  /** IANA time zone the cron reads in (DST included). */
  timeZone: z.string().min(1).max(64).default('UTC'),
});

/** When the engine may notify: not before startAt, not at or after endAt, only inside a window (when windows are given). */
export const scheduleSchema = z.object({
  startAt: wireTime.optional(),
  endAt: wireTime.optional(),
  windows: z.array(windowSchema).min(1).max(MAX_WINDOWS).optional(),
});

/** Notification rate (AWS IoT Jobs' rollout config): a ceiling, and optionally an exponential ramp up to it. */
export const rateSchema = z.object({
  /** Devices notified per minute at most (the constant cap). */
  maxPerMinute: z.number().int().min(1).max(MAX_RATE),
  exponential: z.object({
    basePerMinute: z.number().int().min(1).max(MAX_RATE),
    /** The rate is multiplied by this each time the count below grows by its step. */
    incrementFactor: z.number().gt(1).max(5),
    increaseEvery: z.union([z.object({ notified: z.number().int().min(1) }).strict(), z.object({ succeeded: z.number().int().min(1) }).strict()]),
  }).optional(),
});

/** Failure reasons the retry policy retries when none are named: the transient ones. */
export const DEFAULT_RETRY_REASONS = ['download_failed', 'install_failed', 'health_check_failed'] as const;

/** The engine re-notifies a device that reported `failed` with one of `reasons`, up to maxAttempts more times. */
export const retryPolicySchema = z.object({
  maxAttempts: z.number().int().min(1).max(MAX_RETRY_ATTEMPTS),
  /** Delay before the first retry; each further one waits backoffFactor times longer. */
  backoffSeconds: z.number().int().min(0).max(86_400).default(60),
  backoffFactor: z.number().min(1).max(10).default(2),
  reasons: z.array(z.enum(REASON_CODES)).min(1).max(REASON_CODES.length).default([...DEFAULT_RETRY_REASONS]),
});

export const rolloutSpecSchema = z.object({
  id: z.string().regex(NAME_ID).optional(),
  releaseId: z.string().regex(NAME_ID),
  target: targetSchema,
  waves: z.array(waveSpecSchema).min(1).max(32).prefault([{ percent: 100 }]),
  /**
   * Devices of the target left after the last wave stay out of this rollout. Without it the
   * last wave must be `percent: 100`, so waves never silently grow to the whole target.
   */
  // Optional, not defaulted: rollouts stored before these fields existed still serialize.
  holdRemainder: z.boolean().optional(),
  /**
   * Devices that come to match the target while the rollout is active (registered, re-tagged,
   * attributes changed) join its last wave (docs/design.md#dynamic-rollouts); its last wave then
   * waits for `approve` to complete, so the rollout stays open until the operator closes it.
   */
  dynamic: z.boolean().optional(),
  /** Create even though some targets have a sequence at or above the release's installed (they will reject it). */
  force: z.boolean().optional(),
  policy: z.object({
    mode: z.enum(['auto', 'optional', 'forced']).default('auto'),
    deadline: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/).optional(),
    window: z.object({ start: z.string().regex(HH_MM), end: z.string().regex(HH_MM) }).optional(),
  }).prefault({ mode: 'auto' }),
  failureAction: z.enum(['pause', 'abort']).default('pause'),
  /** Devices notified per minute across the rollout; absent = uncapped. The same as `rate: { maxPerMinute }` (kept: older specs use it). */
  maxNotificationsPerMinute: z.number().int().min(1).max(MAX_RATE).optional(),
  rate: rateSchema.optional(),
  schedule: scheduleSchema.optional(),
  retry: retryPolicySchema.optional(),
  /**
   * Lifetime of each signed directive (anti-freeze). Devices that are away longer get a fresh
   * one when they return (rollouts/reconciler.ts), so a short lifetime strands nobody.
   */
  directiveTtlSeconds: z.number().int().min(MIN_DIRECTIVE_TTL_SECONDS).max(30 * 86_400).default(86_400),
  /** Start notifying right away (default) or wait for an explicit start. */
  start: z.boolean().default(true),
  /**
   * Devices of the target left out, each for a stated reason the dry run lists (plan-rollout.ts):
   * `upToDate` drops devices that already report the release's sequence or a higher one (instead
   * of refusing the rollout, or with `force` including them to reject it); `offlineForSeconds`
   * drops devices offline (or never seen) for longer than that.
   */
  exclude: z.object({
    upToDate: z.boolean().optional(),
    offlineForSeconds: z.number().int().min(1).max(365 * 86_400).optional(),
  }).optional(),
  /**
   * The most devices notified and not yet settled (accepted, downloading, installing, rebooting,
   * inside their health window) at once: the engine admits a device only while fewer are in
   * flight and the wave's failure threshold is not crossed (blast-radius.ts). Absent = a whole wave.
   */
  maxInFlight: z.number().int().min(1).max(10_000_000).optional(),
  /**
   * The blast radius the operator accepts: creation is refused (`blast_radius_exceeded`) when the
   * bound derived from waves, thresholds and maxInFlight (blast-radius.ts) is larger.
   */
  maxBlastRadius: z.number().int().min(1).max(10_000_000).optional(),
}).superRefine((spec, ctx) => {
  const dynamicProblems: SpecProblem[] = spec.dynamic && spec.holdRemainder
    ? [{ code: 'invalid_target', message: 'a dynamic rollout adds joining devices to its last wave; holdRemainder leaves devices out of it: give one or the other', path: ['holdRemainder'] }]
    : [];
  for (const problem of [...targetProblems(spec.target), ...waveProblems(spec.waves, spec.holdRemainder ?? false), ...dynamicProblems, ...scheduleProblems(spec.schedule), ...rateProblems(spec)]) {
    // The stable code rides in params; parseRolloutSpec throws it instead of the generic bad_request.
    ctx.addIssue({ code: 'custom', message: problem.message, path: problem.path, params: { code: problem.code } });
  }
});

export interface SpecProblem {
  code: 'target_required' | 'invalid_target' | 'invalid_waves' | 'invalid_schedule' | 'invalid_rate';
  message: string;
  path: Array<string | number>;
}

const SELECTORS = ['deviceIds', 'groups', 'tags', 'vendorId', 'classId', 'installedReleaseId', 'query'] as const;

/** A target names devices or says `all: true`; never both, never neither. */
export function targetProblems(target: z.output<typeof targetSchema>): SpecProblem[] {
  const named = SELECTORS.filter((key) => target[key] !== undefined);
  if (target.all && named.length > 0) return [{ code: 'invalid_target', message: `target.all cannot be combined with ${named.join(', ')}`, path: ['target', 'all'] }];
  if (!target.all && named.length === 0) return [{ code: 'target_required', message: 'the target names no device: give deviceIds, groups, tags, classId, installedReleaseId, query, or all: true for the whole fleet', path: ['target'] }];
  return [];
}

/**
 * Waves are cumulative and strictly increasing: each percent above the previous one, nothing
 * after a 100% wave, and the last wave 100% unless holdRemainder says the rest stays out.
 */
export function waveProblems(waves: ReadonlyArray<z.output<typeof waveSpecSchema>>, holdRemainder: boolean): SpecProblem[] {
  const problems: SpecProblem[] = [];
  let previous = 0;
  waves.forEach((wave, index) => {
    if (wave.percent === undefined) return;
    if (wave.percent <= previous) {
      problems.push({ code: 'invalid_waves', message: `wave ${index + 1} is ${wave.percent}%, not above the ${previous}% reached before it (percentages are cumulative)`, path: ['waves', index, 'percent'] });
    }
    previous = Math.max(previous, wave.percent);
  });
  const full = waves.findIndex((wave) => wave.percent === 100);
  if (full !== -1 && full < waves.length - 1) {
    problems.push({ code: 'invalid_waves', message: `wave ${full + 1} already reaches 100%; waves after it would be empty`, path: ['waves', full + 1] });
  }
  if (full === -1 && !holdRemainder) {
    problems.push({ code: 'invalid_waves', message: 'the last wave does not reach 100% of the target: end with a 100% wave, or set holdRemainder to leave the rest out of this rollout', path: ['waves', waves.length - 1] });
  }
  return problems;
}

/** endAt after startAt, and every window's cron and time zone accepted by croner. */
export function scheduleProblems(schedule: z.output<typeof scheduleSchema> | undefined): SpecProblem[] {
  if (!schedule) return [];
  const problems: SpecProblem[] = [];
  if (schedule.startAt && schedule.endAt && parseWireTime(schedule.endAt)! <= parseWireTime(schedule.startAt)!) {
    problems.push({ code: 'invalid_schedule', message: `endAt ${schedule.endAt} is not after startAt ${schedule.startAt}`, path: ['schedule', 'endAt'] });
  }
  schedule.windows?.forEach((window, index) => {
    const problem = windowProblem(window);
    if (problem) problems.push({ code: 'invalid_schedule', message: problem, path: ['schedule', 'windows', index] });
  });
  return problems;
}

/** One way to say the cap, and a ramp that starts at or below its ceiling. */
export function rateProblems(spec: { maxNotificationsPerMinute?: number | undefined; rate?: z.output<typeof rateSchema> | undefined }): SpecProblem[] {
  if (!spec.rate) return [];
  if (spec.maxNotificationsPerMinute !== undefined) return [{ code: 'invalid_rate', message: 'give maxNotificationsPerMinute or rate, not both (rate.maxPerMinute is the same cap)', path: ['rate'] }];
  const ramp = spec.rate.exponential;
  if (ramp && ramp.basePerMinute > spec.rate.maxPerMinute) return [{ code: 'invalid_rate', message: `the ramp starts at ${ramp.basePerMinute}/min, above its ceiling maxPerMinute ${spec.rate.maxPerMinute}`, path: ['rate', 'exponential', 'basePerMinute'] }];
  return [];
}

/** The rollout's rate (maxNotificationsPerMinute is the constant cap), or undefined when uncapped. */
export function rateOf(spec: Pick<RolloutSpec, 'maxNotificationsPerMinute' | 'rate'>): RateSpec | undefined {
  if (spec.rate) return spec.rate.exponential ? { maxPerMinute: spec.rate.maxPerMinute, exponential: spec.rate.exponential } : { maxPerMinute: spec.rate.maxPerMinute };
  return spec.maxNotificationsPerMinute === undefined ? undefined : { maxPerMinute: spec.maxNotificationsPerMinute };
}

/** The rollout's schedule in epoch seconds (schedule.ts works on these). */
export function scheduleOf(spec: Pick<RolloutSpec, 'schedule'>): ScheduleSpec | undefined {
  const s = spec.schedule;
  if (!s) return undefined;
  return {
    ...(s.startAt ? { startAt: parseWireTime(s.startAt)! } : {}),
    ...(s.endAt ? { endAt: parseWireTime(s.endAt)! } : {}),
    ...(s.windows ? { windows: s.windows } : {}),
  };
}

/**
 * The spec, or a RolloutError: the first coded rule broken (target_required, invalid_target,
 * invalid_waves), else `bad_request`; the message names every problem. A target.query that does
 * not parse is a QueryError (`invalid_query`, with its position).
 */
export function parseRolloutSpec(input: unknown): RolloutSpec {
  const parsed = rolloutSpecSchema.safeParse(input);
  if (parsed.success) {
    // QueryError (invalid_query, with the position in target.query) before anything is resolved.
    if (parsed.data.target.query !== undefined) parseQuery(parsed.data.target.query);
    return parsed.data;
  }
  const coded = parsed.error.issues.map((i) => (i as { params?: { code?: unknown } }).params?.code).find(isRolloutErrorCode);
  const message = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
  throw new RolloutError(coded ?? 'bad_request', message);
}

export type RolloutSpecInput = z.input<typeof rolloutSpecSchema>;
export type RolloutSpec = z.output<typeof rolloutSpecSchema>;
export type WaveSpec = z.output<typeof waveSpecSchema>;
export type Target = z.output<typeof targetSchema>;
export type RetryPolicy = z.output<typeof retryPolicySchema>;
