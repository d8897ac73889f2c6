// Status reports (docs/protocol.md#status-report): built, signed with the device key and appended
// to the record's outbox with the next `seq`, in one pure step, so the caller persists the
// report together with the state change it describes, before sending it.
import {
  buildStatusBody, clipDetail, encodeStatusReport, formatWireTime,
  type Ed25519, type ReasonCode, type ReportedState, type SigningKey, type StatusSigned,
} from '../../protocol/index.js';
import type { DeviceRecord, OutboxEntry } from './device-state.js';

/** Stateless (no streaming), so one decoder serves every report. */
const UTF8 = new TextDecoder();

export interface ReportFields {
  readonly rolloutId: string;
  readonly counter: number;
  readonly state: ReportedState;
  readonly progress?: number;
  readonly reason?: ReasonCode;
  readonly detail?: string;
}

/** docs/protocol.md#status-report: what the device says about itself (hwrev, freeStorage, free-form). */
export type DeviceAttributes = Readonly<Record<string, string | number>>;

export interface Signer {
  readonly key: SigningKey;
  readonly ed25519: Ed25519;
}

/** The record with the report queued, and the report's body (for listeners). */
export function withReport(record: DeviceRecord, fields: ReportFields, nowSeconds: number, signer: Signer, maxOutbox: number, attributes?: DeviceAttributes): { record: DeviceRecord; report: StatusSigned } {
  // docs/protocol.md#status-report: seq strictly increasing within the record's epoch; it is persisted with the report.
  const seq = record.statusSeq + 1;
  const report = buildStatusBody({
    deviceId: record.deviceId,
    rolloutId: fields.rolloutId,
    counter: fields.counter,
    seq,
    ...(record.epoch !== undefined ? { epoch: record.epoch } : {}),
    state: fields.state,
    ...(fields.progress !== undefined ? { progress: Math.max(0, Math.min(100, Math.floor(fields.progress))) } : {}),
    ...(fields.reason !== undefined ? { reason: fields.reason } : {}),
    ...(fields.detail !== undefined ? { detail: clipDetail(fields.detail) } : {}),
    installed: { releaseId: record.installed.releaseId, sequence: record.installed.sequence },
    rootVersion: record.root.version,
    // Sent with every report: the orchestrator keeps the latest set (a few dozen bytes).
    ...(attributes !== undefined ? { attributes: { ...attributes } } : {}),
    at: formatWireTime(nowSeconds),
  });
  const body = UTF8.decode(encodeStatusReport(report, signer.key, signer.ed25519));
  const entry: OutboxEntry = { seq, state: fields.state, rolloutId: fields.rolloutId, counter: fields.counter, body };
  return { record: { ...record, statusSeq: seq, outbox: trimOutbox([...record.outbox, entry], maxOutbox) }, report };
}

/**
 * Keeps at most `max` queued reports while offline. Progress reports go first (a later state
 * supersedes them), then the oldest; the orchestrator tolerates gaps in `seq`.
 */
export function trimOutbox(outbox: OutboxEntry[], max: number): OutboxEntry[] {
  const out = outbox;
  while (out.length > Math.max(1, max)) {
    const progress = out.findIndex((e, i) => e.state === 'downloading' && i < out.length - 1);
    out.splice(progress >= 0 ? progress : 0, 1);
  }
  return out;
}
