// Canonical JSON (RFC 8785, JCS) and the stricter rule for signed bodies: integers only,
// in [0, 2^53-1] (docs/protocol.md#basics). Serialization itself is the `canonicalize` package.
import canonicalize from 'canonicalize';
import { ProtocolError } from '../errors.js';
import { MAX_SAFE_WIRE_INTEGER } from '../limits.js';
import { utf8 } from './utf8.js';

/** RFC 8785 canonical form of any JSON value (floats included); throws on NaN, Infinity, lone surrogates. */
export function canonicalJsonUnchecked(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new ProtocolError('bad_schema', 'value has no JSON form');
  return text;
}

/** Throws `bad_schema` unless every number is an integer in [0, 2^53-1] and every value is plain JSON. */
export function assertSignedBodyNumbers(value: unknown, path = '$'): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_SAFE_WIRE_INTEGER) {
      throw new ProtocolError('bad_schema', `${path}: numbers in signed bodies are integers in [0, 2^53-1]`);
    }
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => assertSignedBodyNumbers(item, `${path}[${i}]`));
    return;
  }
  if (typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) assertSignedBodyNumbers(item, `${path}.${key}`);
    return;
  }
  throw new ProtocolError('bad_schema', `${path}: ${typeof value} is not JSON`);
}

/** Canonical JSON text of a signed body (integers only). */
export function canonicalJson(value: unknown): string {
  assertSignedBodyNumbers(value);
  return canonicalJsonUnchecked(value);
}

/** The bytes a signature covers: UTF-8 of the canonical JSON. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8(canonicalJson(value));
}
