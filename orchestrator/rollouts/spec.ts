// What an operator asks for when creating a rollout (docs/design.md#rollouts): validated with zod
// at the HTTP boundary and stored with the rollout so every engine process reads the same plan.
import { z } from 'zod';
import { DEVICE_ID, NAME_ID } from '../../protocol/index.js';

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
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
  deviceIds: z.array(z.string().regex(DEVICE_ID)).max(1_000_000).optional(),
  groups: z.array(z.string().regex(NAME_ID)).max(64).optional(),
  tags: z.array(z.string().regex(NAME_ID)).max(64).optional(),
  vendorId: z.string().regex(NAME_ID).optional(),
  classId: z.string().regex(NAME_ID).optional(),
  installedReleaseId: z.string().regex(NAME_ID).optional(),
});

export const rolloutSpecSchema = z.object({
  id: z.string().regex(NAME_ID).optional(),
  releaseId: z.string().regex(NAME_ID),
  target: targetSchema.prefault({}),
  waves: z.array(waveSpecSchema).min(1).max(32).prefault([{ percent: 100 }]),
  policy: z.object({
    mode: z.enum(['auto', 'optional', 'forced']).default('auto'),
    deadline: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/).optional(),
    window: z.object({ start: z.string().regex(HH_MM), end: z.string().regex(HH_MM) }).optional(),
  }).prefault({ mode: 'auto' }),
  failureAction: z.enum(['pause', 'abort']).default('pause'),
  /** Devices notified per minute across the rollout; absent = uncapped. */
  maxNotificationsPerMinute: z.number().int().min(1).max(10_000_000).optional(),
  /**
   * Lifetime of each signed directive (anti-freeze). Devices that are away longer get a fresh
   * one when they return (rollouts/reconciler.ts), so a short lifetime strands nobody.
   */
  directiveTtlSeconds: z.number().int().min(MIN_DIRECTIVE_TTL_SECONDS).max(30 * 86_400).default(86_400),
  /** Start notifying right away (default) or wait for an explicit start. */
  start: z.boolean().default(true),
});

export type RolloutSpecInput = z.input<typeof rolloutSpecSchema>;
export type RolloutSpec = z.output<typeof rolloutSpecSchema>;
export type WaveSpec = z.output<typeof waveSpecSchema>;
export type Target = z.output<typeof targetSchema>;
