// Reads `rolloutId` and `counter` from a directive message that failed its checks, so the
// refusal can be reported (docs/protocol.md#status-report: a status names both). Unverified, bounded, never throws;
// undefined when they cannot be read, and the refusal is then only logged and counted.
import { isDeviceId, isNameId, LIMITS } from '../../protocol/index.js';

export interface PeekedDirective {
  readonly rolloutId: string;
  readonly counter: number;
  readonly deviceId: string;
}

export function peekDirective(bytes: Uint8Array): PeekedDirective | undefined {
  if (bytes.length > LIMITS.directiveMessageBytes) return undefined;
  try {
    const message = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)) as unknown;
    const signed = (message as { directive?: { signed?: Record<string, unknown> } } | null)?.directive?.signed;
    if (!signed || typeof signed !== 'object') return undefined;
    const { rolloutId, counter, deviceId } = signed;
    if (!isNameId(rolloutId) || !isDeviceId(deviceId)) return undefined;
    if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 0) return undefined;
    return { rolloutId, counter, deviceId };
  } catch {
    return undefined;
  }
}
