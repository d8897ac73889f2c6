// Stand-in payloads of the sizes fleet-ota puts on the wire, for the raw benchmark: no signing,
// no schema, only the byte counts and the state sequence a device reports in a rollout.
import type { ReportedState } from '../../protocol/index.js';

/**
 * Sizes from issue 9's brief: a directive message (~1.6 KB) and a status report (~600 B). The
 * test fixtures' signed directive message without roots is ~1.0 KB and a signed status report
 * ~0.4 KB, so these sit on the heavy side; at these sizes the per-packet cost dominates anyway.
 */
export const RAW_PAYLOAD_SIZES = { directiveBytes: 1_600, statusBytes: 600 } as const;

/** The reports one device sends on a successful install (docs/protocol.md#device-states). */
export const ROLLOUT_STATUS_SEQUENCE: readonly ReportedState[] = ['accepted', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded'];

/** JSON of exactly `bytes` bytes: the fields, then padding. */
export function paddedJson(fields: Record<string, string | number>, bytes: number): Buffer {
  const head = JSON.stringify({ ...fields, pad: '' });
  const padding = bytes - Buffer.byteLength(head);
  if (padding < 0) throw new RangeError(`fields need ${Buffer.byteLength(head)} bytes, more than ${bytes}`);
  return Buffer.from(JSON.stringify({ ...fields, pad: 'x'.repeat(padding) }));
}
