// Pure helpers over the install job record: a new job from a verified plan, and the record
// once a job is dropped (canceled, superseded, refused, finished without commit).
import type { Consent, DirectivePlan } from '../../protocol/index.js';
import { otherSlot, type DeviceRecord, type Job } from './device-state.js';

/** A job for a verified install plan, targeting the inactive slot; `deferred` until policy says go. */
export function jobFromPlan(plan: DirectivePlan, record: DeviceRecord, consent: Consent): Job {
  const d = plan.directive;
  const r = plan.release;
  return {
    rolloutId: d.rolloutId,
    counter: d.counter,
    manifestSha256: plan.manifestSha256,
    release: { releaseId: r.releaseId, version: r.version, sequence: r.sequence, payload: r.payload },
    policy: d.policy,
    directiveExpiresAt: d.expiresAt,
    step: 'deferred',
    targetSlot: otherSlot(record.activeSlot),
    ...(consent ? { consent } : {}),
  };
}

/** The record without its job, and without any image no one committed. */
export function dropJob(record: DeviceRecord): DeviceRecord {
  const keep = (slot: 'A' | 'B') => (record.slots[slot]?.committed ? record.slots[slot] : null);
  return { ...record, job: null, slots: { A: keep('A'), B: keep('B') } };
}
