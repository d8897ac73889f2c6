// The orchestrator's boundary check of a status report (docs/protocol.md#status-report): size,
// schema, topic binding and the device's own signature. Returns the report or one reason.
import type { Ed25519 } from '../crypto/ed25519.js';
import { fromBase64url } from '../encoding/base64url.js';
import { assertSignedBodyNumbers, canonicalBytes } from '../encoding/canonical.js';
import { fromUtf8 } from '../encoding/utf8.js';
import { hasOnlyIntegerLiterals } from '../encoding/integer-literals.js';
import { hasDuplicateMembers } from '../encoding/duplicate-members.js';
import { LIMITS } from '../limits.js';
import { statusEnvelope, type StatusSigned } from '../schemas/status.js';
import { keyIdOf } from '../crypto/keys.js';

/** Why the orchestrator refused a report (counted, never crashes ingestion). */
export type StatusRefusal = 'too_large' | 'bad_schema' | 'wrong_topic' | 'bad_signature';

export type StatusCheck = { ok: true; report: StatusSigned } | { ok: false; refusal: StatusRefusal };

/** Parses without verifying: lets the caller look up the device's key by `deviceId`. */
export function parseStatusReport(bytes: Uint8Array): { ok: true; envelope: { signed: StatusSigned; signatures: { keyid: string; sig: string }[] } } | { ok: false; refusal: StatusRefusal } {
  if (bytes.length > LIMITS.statusReportBytes) return { ok: false, refusal: 'too_large' };
  const text = fromUtf8(bytes);
  if (text === undefined || !hasOnlyIntegerLiterals(text)) return { ok: false, refusal: 'bad_schema' };
  let json: unknown;
  try {
    json = JSON.parse(text);
    if (hasDuplicateMembers(text)) return { ok: false, refusal: 'bad_schema' };
    assertSignedBodyNumbers(json);
  } catch {
    return { ok: false, refusal: 'bad_schema' };
  }
  const parsed = statusEnvelope.safeParse(json);
  if (!parsed.success) return { ok: false, refusal: 'bad_schema' };
  return { ok: true, envelope: parsed.data };
}

/**
 * Full check: the report's `deviceId` must equal the topic's, and one of its signatures must
 * verify under the device's registered public key.
 */
export function verifyStatusReport(bytes: Uint8Array, topicDeviceId: string, devicePublicKey: Uint8Array, ed25519: Ed25519): StatusCheck {
  const parsed = parseStatusReport(bytes);
  if (!parsed.ok) return parsed;
  const { signed, signatures } = parsed.envelope;
  if (signed.deviceId !== topicDeviceId) return { ok: false, refusal: 'wrong_topic' };
  const keyid = keyIdOf(devicePublicKey);
  const body = canonicalBytes(signed);
  for (const s of signatures) {
    if (s.keyid !== keyid) continue;
    const sig = fromBase64url(s.sig);
    if (sig && ed25519.verify(devicePublicKey, body, sig)) return { ok: true, report: signed };
  }
  return { ok: false, refusal: 'bad_signature' };
}
