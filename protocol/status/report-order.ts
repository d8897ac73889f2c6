// Which status reports the orchestrator applies, by (epoch, seq) (docs/protocol.md#status-report,
// issue 21 point 1). The rule the Lua in the orchestrator applies atomically; a test holds the
// two together. `seq` restarts when a device's storage is reset, so it is compared only within
// one epoch, and epochs only move forward (an old epoch is a replay or a clock gone back).

/** The newest (epoch, seq) the orchestrator applied from a device. */
export interface ReportPosition {
  readonly epoch: number;
  readonly seq: number;
}

/**
 * `newer`: apply it. `stale`: same epoch, `seq` at or below the last applied (a redelivery, a
 * replay, or a device that does not increase `seq`). `stale_epoch`: an epoch below the last
 * applied one. Both refusals are counted and shown on the device.
 */
export type ReportOrder = 'newer' | 'stale' | 'stale_epoch';

/** Epoch of a report that carries none (devices written before epochs): 0. */
export const DEFAULT_STATUS_EPOCH = 0;

export function reportOrder(last: ReportPosition | undefined, report: { readonly epoch?: number; readonly seq: number }): ReportOrder {
  const epoch = report.epoch ?? DEFAULT_STATUS_EPOCH;
  if (!last || epoch > last.epoch) return 'newer';
  if (epoch < last.epoch) return 'stale_epoch';
  return report.seq > last.seq ? 'newer' : 'stale';
}
