// First step on every directive message: the protocol's check sequence, then what the agent
// does about a refusal. Pure: bytes and `now` in, one outcome out.
import { checkDirectiveMessage, type DirectivePlan, type Ed25519, type ReasonCode } from '../../protocol/index.js';
import type { DeviceRecord } from './device-state.js';
import { peekDirective } from './directive-peek.js';

export type DirectiveOutcome =
  | { readonly kind: 'accept'; readonly plan: DirectivePlan }
  | { readonly kind: 'reject'; readonly rolloutId: string; readonly counter: number; readonly reason: ReasonCode; readonly detail: string }
  /**
   * duplicate: the directive already accepted (a retained copy after a reconnect, or a QoS 1
   * redelivery), processed once. repeated: a refusal already reported. unreportable: the
   * message does not say which rollout it belongs to.
   */
  | { readonly kind: 'ignore'; readonly why: 'duplicate' | 'repeated' | 'unreportable'; readonly reason?: ReasonCode };

export function classifyDirective(record: DeviceRecord, bytes: Uint8Array, nowSeconds: number, ed25519: Ed25519): DirectiveOutcome {
  const check = checkDirectiveMessage(
    { root: record.root, deviceId: record.deviceId, counter: record.counter, sequence: record.installed.sequence, vendorId: record.vendorId, classId: record.classId, ...(record.ownership ? { ownership: record.ownership } : {}) },
    bytes,
    nowSeconds,
    ed25519,
  );
  if (check.ok) return { kind: 'accept', plan: check.plan };
  const peek = peekDirective(bytes);
  if (!peek) return { kind: 'ignore', why: 'unreportable', reason: check.reason };
  // The counter equals the last one accepted: the same directive again, not an attack.
  if (check.reason === 'replayed' && peek.counter === record.counter) return { kind: 'ignore', why: 'duplicate', reason: check.reason };
  const last = record.lastRejected;
  if (last && last.rolloutId === peek.rolloutId && last.counter === peek.counter) return { kind: 'ignore', why: 'repeated', reason: check.reason };
  return { kind: 'reject', rolloutId: peek.rolloutId, counter: peek.counter, reason: check.reason, detail: check.detail };
}
