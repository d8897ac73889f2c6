// Request and response schemas of the rollout routes, derived from zod: the request from the
// rollout spec (rollouts/spec.ts), the replies from zod schemas of the types the store and the
// engine return (rollouts/model.ts, state/rollouts/entry.ts). fastify serializes replies with these
// schemas, which drops any field they do not declare, so each one is tied to its TypeScript
// type at compile time (Agrees below): a field added to RolloutView without its schema fails
// `npm run typecheck` instead of silently vanishing from the API.
import { z } from 'zod';
import { DEVICE_STATES } from '../../protocol/index.js';
import { ROLLOUT_STATUSES, WAVE_STATUSES, type RolloutView, type WaveView } from '../rollouts/model.js';
import type { DeviceRolloutEntry } from '../../state/rollouts/entry.js';
import { rolloutSpecSchema } from '../rollouts/spec.js';
import { EXCLUSION_REASONS, type RolloutPreview } from '../rollouts/plan-rollout.js';

/** JSON Schema (2020-12, what OpenAPI 3.1 uses) of a zod schema, without its `$schema` line. */
export function jsonSchemaOf(schema: z.ZodType, io: 'input' | 'output' = 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
/** The schema declares exactly the type's fields, and every value of the type fits the schema. */
type Agrees<T, S extends z.ZodType> = SameKeys<T, z.output<S>> extends true ? (T extends z.output<S> ? true : false) : false;
type Check<T extends true> = T;

const count = z.number().int().min(0);
const stateCounts = z.partialRecord(z.enum(DEVICE_STATES), count);
const reasonCounts = z.record(z.string(), count);

export const waveViewSchema = z.object({
  index: count,
  size: count,
  status: z.enum(WAVE_STATUSES),
  notifyStartedAt: z.number().int().optional().describe('epoch seconds: notification of the wave began'),
  notifiedAt: z.number().int().optional().describe('epoch seconds: every device of the wave was notified'),
  approved: z.boolean(),
  counts: stateCounts,
  reasons: reasonCounts,
});

export const blastRadiusSchema = z.object({
  bound: count.describe('the most devices that can install a release failing on them before the failure signal stops the rollout'),
  worstWave: count.describe('0-based wave whose failure gives the bound'),
  waves: z.array(z.object({ allowedFailures: count, bound: count })),
  basis: z.string().describe('how the bound was derived'),
});

export const rolloutViewSchema = z.object({
  id: z.string(),
  releaseId: z.string(),
  manifestSha256: z.string(),
  status: z.enum(ROLLOUT_STATUSES),
  statusReason: z.string().optional().describe('why the rollout is paused or aborted'),
  currentWave: count,
  createdAt: z.string(),
  updatedAt: z.string(),
  spec: rolloutSpecSchema,
  total: count,
  counts: stateCounts,
  reasons: reasonCounts,
  waves: z.array(waveViewSchema),
  blastRadius: blastRadiusSchema,
});

/** GET /rollouts: one row per rollout. */
export const rolloutSummarySchema = rolloutViewSchema
  .pick({ id: true, releaseId: true, status: true, statusReason: true, currentWave: true, total: true, counts: true, createdAt: true, updatedAt: true })
  .extend({ waveCount: count });

export const rolloutPageSchema = z.object({
  rollouts: z.array(rolloutSummarySchema),
  next: z.number().int().min(0).optional().describe('cursor of the next page, absent on the last'),
});

export const deviceEntrySchema = z.object({
  state: z.string().describe('a device state (protocol: DEVICE_STATES)'),
  wave: count,
  counter: count.describe('directive counter of this rollout for the device (0: none allocated yet)'),
  progress: count,
  reason: z.string().describe('reason code of a terminal state; empty otherwise'),
});

export const rolloutDevicesPageSchema = z.object({
  devices: z.array(deviceEntrySchema.extend({ id: z.string() })),
  cursor: z.string().optional().describe('HSCAN cursor of the next page, absent on the last'),
});

export const rolloutDeviceSchema = deviceEntrySchema.extend({
  id: z.string(),
  supersededBy: z.string().optional().describe('the newer rollout that now owns this device'),
});

/** POST /rollouts: the view, plus what the pre-flight check counted (routes.ts). */
export const rolloutCreatedSchema = rolloutViewSchema.extend({
  preflight: z.object({
    targets: count.describe('devices the target resolves to'),
    willReject: count.describe('of those, devices with the release\'s sequence or a higher one installed: they will reject it (rollback)'),
    releaseSequence: count,
  }).optional(),
});

const boundedIds = z.object({ count, ids: z.array(z.string()).describe('at most 100, in order'), truncated: z.boolean() });

/** POST /rollouts/preview: the dry run (rollouts/plan-rollout.ts previewOf). */
export const rolloutPreviewSchema = z.object({
  id: z.string().describe('the id the plan was made for: create with this id to get these wave members'),
  releaseId: z.string(),
  releaseSequence: count,
  vendorId: z.string(),
  classId: z.string(),
  targets: count.describe('devices the rollout would cover, after exclusions'),
  willReject: count.describe('of those, devices with the release\'s sequence or a higher one installed (they would reject it)'),
  waves: z.array(z.object({ index: count, size: count, failureThreshold: z.number(), members: boundedIds })),
  excluded: z.partialRecord(z.enum(EXCLUSION_REASONS), boundedIds).describe('devices left out, by reason: wrong_class, revoked, up_to_date, offline'),
  blastRadius: blastRadiusSchema,
  estimatedSeconds: count.describe('lower bound: paced notification plus bakes; device install times not included'),
  estimateBasis: z.string(),
  maxInFlight: count.nullable(),
  refusal: z.object({ code: z.string(), message: z.string() }).optional().describe('why creating this spec would be refused'),
});

export type RolloutPreviewAgrees = Check<Agrees<RolloutPreview, typeof rolloutPreviewSchema>>;
export type RolloutViewAgrees = Check<Agrees<RolloutView, typeof rolloutViewSchema>>;
export type WaveViewAgrees = Check<Agrees<WaveView, typeof waveViewSchema>>;
export type DeviceEntryAgrees = Check<Agrees<DeviceRolloutEntry, typeof deviceEntrySchema>>;

/** Optional body of the operator actions (start, pause, resume, abort, approve). */
export const actionBodySchema = z.object({ reason: z.string().max(256).optional() }).strict();

export const rolloutJsonSchemas = {
  spec: jsonSchemaOf(rolloutSpecSchema, 'input'),
  view: jsonSchemaOf(rolloutViewSchema),
  created: jsonSchemaOf(rolloutCreatedSchema),
  preview: jsonSchemaOf(rolloutPreviewSchema),
  page: jsonSchemaOf(rolloutPageSchema),
  devicesPage: jsonSchemaOf(rolloutDevicesPageSchema),
  device: jsonSchemaOf(rolloutDeviceSchema),
  actionBody: jsonSchemaOf(actionBodySchema, 'input'),
};
