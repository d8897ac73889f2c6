// verifyStatusReport (docs/protocol.md#status-report): the orchestrator's boundary check of a
// report: size, schema, topic binding and the device's own signature, each a refusal code.
import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  buildStatusBody,
  canonicalJsonUnchecked,
  encodeStatusReport,
  nobleEd25519,
  parseStatusReport,
  toBase64url,
  utf8,
  verifyStatusReport,
  type StatusSigned,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { KEYS, at, clone, fixtureKey, type LooseJson } from '../../fixtures/trust-fixtures.js';

const device = KEYS.device;
/** A report body; an override of `undefined` removes that field. */
const body = (overrides: Partial<Omit<StatusSigned, '_type'>> = {}): StatusSigned => buildStatusBody(clone({
  deviceId: 'dev-0001', rolloutId: 'rollout-1', counter: 11, seq: 3, state: 'downloading', progress: 40,
  installed: { releaseId: 'gw2-fw-4', sequence: 4 }, rootVersion: 1, at: at(0), ...overrides,
}));
/** Signs any JSON (even one the builder refuses) with the device key, as wire bytes. */
function signedBytes(signed: unknown, key = device): Uint8Array {
  const sig = toBase64url(nodeEd25519.sign(key.secretKey, utf8(canonicalJsonUnchecked(signed))));
  return utf8(JSON.stringify({ signed, signatures: [{ keyid: key.keyid, sig }] }));
}

describe.each([nodeEd25519, nobleEd25519])('verifyStatusReport ($name)', (backend) => {
  const verify = (bytes: Uint8Array, topicDeviceId = 'dev-0001', publicKey = device.publicKey) => {
    const result = verifyStatusReport(bytes, topicDeviceId, publicKey, backend);
    return result.ok ? 'ok' : result.refusal;
  };

  it('accepts a report signed by the device key on its own topic', () => {
    const report = body();
    const result = verifyStatusReport(encodeStatusReport(report, device, nodeEd25519), 'dev-0001', device.publicKey, backend);
    expect(result).toEqual({ ok: true, report });
  });

  it('accepts a failed report with its reason, and a rejected one', () => {
    expect(verify(encodeStatusReport(body({ state: 'failed', reason: 'hash_mismatch', detail: 'sha256 differs', progress: undefined }), device, nodeEd25519))).toBe('ok');
    expect(verify(signedBytes({ ...body({ progress: undefined }), state: 'rejected', reason: 'rollback' }))).toBe('ok');
  });

  it('refuses a report whose deviceId is not the topic device (wrong_topic)', () => {
    expect(verify(encodeStatusReport(body(), device, nodeEd25519), 'dev-0002')).toBe('wrong_topic');
  });

  it('refuses a report signed by another key (bad_signature)', () => {
    expect(verify(encodeStatusReport(body(), fixtureKey('other device'), nodeEd25519))).toBe('bad_signature');
  });

  it('refuses a report signed by the right key but verified against another registered key', () => {
    expect(verify(encodeStatusReport(body(), device, nodeEd25519), 'dev-0001', fixtureKey('other device').publicKey)).toBe('bad_signature');
  });

  it('refuses a report changed after signing (bad_signature)', () => {
    const envelope = JSON.parse(new TextDecoder().decode(encodeStatusReport(body(), device, nodeEd25519))) as LooseJson;
    envelope.signed.progress = 100;
    expect(verify(utf8(JSON.stringify(envelope)))).toBe('bad_signature');
  });

  it('refuses a valid signature filed under another keyid (bad_signature)', () => {
    const envelope = JSON.parse(new TextDecoder().decode(encodeStatusReport(body(), device, nodeEd25519))) as LooseJson;
    envelope.signatures[0].keyid = KEYS.attacker.keyid;
    expect(verify(utf8(JSON.stringify(envelope)))).toBe('bad_signature');
  });

  it('refuses a malformed or missing signature (bad_signature)', () => {
    const envelope = JSON.parse(new TextDecoder().decode(encodeStatusReport(body(), device, nodeEd25519))) as LooseJson;
    envelope.signatures[0].sig = '!!';
    expect(verify(utf8(JSON.stringify(envelope)))).toBe('bad_signature');
    envelope.signatures = [];
    expect(verify(utf8(JSON.stringify(envelope)))).toBe('bad_signature');
  });

  it('refuses a report over 4 KiB before parsing it (too_large), and takes one of exactly 4 KiB', () => {
    const bytes = encodeStatusReport(body(), device, nodeEd25519);
    const padded = (total: number) => {
      const out = new Uint8Array(total).fill(0x20);
      out.set(bytes);
      return out;
    };
    expect(verify(padded(LIMITS.statusReportBytes))).toBe('ok');
    expect(verify(padded(LIMITS.statusReportBytes + 1))).toBe('too_large');
  });

  it.each([
    ['not JSON', utf8('{"signed":')],
    ['not UTF-8', Uint8Array.from([0x7b, 0xff, 0x7d])],
    ['an extra field', signedBytes({ ...body(), extra: 1 })],
    ['a missing field', signedBytes((({ seq: _seq, ...rest }) => rest)(body()))],
    ['a float', signedBytes({ ...body(), progress: 40.5 })],
    ['progress over 100', signedBytes({ ...body(), progress: 101 })],
    ['an unknown state', signedBytes({ ...body(), state: 'exploded' })],
    ['an unknown reason code', signedBytes({ ...body({ progress: undefined }), state: 'failed', reason: 'cosmic_ray' })],
    ['a detail over 256 characters', signedBytes({ ...body({ progress: undefined }), state: 'failed', reason: 'install_failed', detail: 'x'.repeat(257) })],
    ['a reason without a failed or rejected state', signedBytes({ ...body(), reason: 'hash_mismatch' })],
    ['a failed state without a reason', signedBytes({ ...body({ progress: undefined }), state: 'failed' })],
    ['a bad device id', signedBytes({ ...body(), deviceId: 'dev/1' })],
  ])('refuses %s (bad_schema)', (_what, bytes) => {
    expect(verify(bytes)).toBe('bad_schema');
  });

  // BUG (protocol/status/verify-status.ts parseStatusReport, ~line 26-30): as in the device
  // check, `"seq":3.0` parses to 3 and passes; docs/protocol.md allows no floats in signed bodies.
  // Expected bad_schema; actual ok. Remove .fails once number literals are checked on the text.
  it('refuses an integral float literal (seq 3.0)', () => {
    const text = new TextDecoder().decode(encodeStatusReport(body(), device, nodeEd25519));
    expect(text).toContain('"seq":3,');
    expect(verify(utf8(text.replace('"seq":3,', '"seq":3.0,')))).toBe('bad_schema');
  });

  it('accepts attributes within their limits, and a report without them as before', () => {
    const attributes = { hwrev: 'B', freeStorage: 123_456_789, modem: 'EG25-G', bootCount: 14, note: '🛰'.repeat(LIMITS.statusAttributeValueChars) };
    const report = body({ attributes });
    expect(verifyStatusReport(encodeStatusReport(report, device, nodeEd25519), 'dev-0001', device.publicKey, backend)).toEqual({ ok: true, report });
    const many = Object.fromEntries(Array.from({ length: LIMITS.statusAttributes }, (_, i) => [`a${i}`, i]));
    expect(verify(encodeStatusReport(body({ attributes: many }), device, nodeEd25519))).toBe('ok');
  });

  it.each([
    ['too many attributes', Object.fromEntries(Array.from({ length: LIMITS.statusAttributes + 1 }, (_, i) => [`a${i}`, i]))],
    ['a bad attribute name', { 'a b': 'x' }],
    ['an attribute name too long', { ['n'.repeat(33)]: 'x' }],
    ['an attribute value too long', { note: 'x'.repeat(LIMITS.statusAttributeValueChars + 1) }],
    ['a non-integer attribute', { ratio: 0.5 }],
    ['a negative attribute', { delta: -1 }],
    ['an object attribute', { nested: { a: 1 } }],
    ['a null attribute', { gone: null }],
    ['hwrev as a number', { hwrev: 2 }],
    ['freeStorage as a string', { freeStorage: '100' }],
  ])('refuses %s (bad_schema), and the builder never builds it', (_what, attributes) => {
    expect(verify(signedBytes({ ...body(), attributes }))).toBe('bad_schema');
    expect(() => body({ attributes: attributes as never })).toThrow();
  });

  it('parseStatusReport exposes the deviceId without verifying, for the key lookup', () => {
    const parsed = parseStatusReport(encodeStatusReport(body(), device, nodeEd25519));
    expect(parsed.ok && parsed.envelope.signed.deviceId).toBe('dev-0001');
  });
});
