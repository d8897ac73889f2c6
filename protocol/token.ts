// Device connect token (docs/protocol.md#device-connect-token): a compact JWS, alg EdDSA (RFC 8037),
// signed by the device key. Built here so a device needs nothing beyond protocol/; the broker
// checks the form with parseConnectToken (below) and then the signature and times with jose.
import type { Ed25519 } from './crypto/ed25519.js';
import { fromBase64url, toBase64url } from './encoding/base64url.js';
import { hasDuplicateMembers } from './encoding/duplicate-members.js';
import { hasOnlyIntegerLiterals } from './encoding/integer-literals.js';
import { fromUtf8, utf8 } from './encoding/utf8.js';
import { UsageError } from './errors.js';
import { isDeviceId } from './ids.js';

export const TOKEN_AUDIENCE = 'fleet-ota';

/** The protected header of every connect token, byte for byte (what buildConnectToken writes). */
export const CONNECT_TOKEN_HEADER = '{"alg":"EdDSA","typ":"JWT"}';

/** The claims a connect token carries: exactly these members, no others (no nbf, jti, ...). */
export const CONNECT_TOKEN_CLAIMS = ['sub', 'aud', 'iat', 'exp'] as const;

/** Ed25519 signature length (RFC 8032 §5.1.6). */
const SIGNATURE_BYTES = 64;

export interface ConnectTokenClaims {
  sub: string;
  aud: typeof TOKEN_AUDIENCE;
  iat: number;
  exp: number;
}

export function buildConnectToken(deviceId: string, secretKey: Uint8Array, nowSeconds: number, lifetimeSeconds: number, ed25519: Ed25519): string {
  if (!isDeviceId(deviceId)) throw new UsageError('ERR_DEVICE_ID', 'invalid device id');
  const header = toBase64url(utf8(CONNECT_TOKEN_HEADER));
  const iat = Math.floor(nowSeconds);
  const claims: ConnectTokenClaims = { sub: deviceId, aud: TOKEN_AUDIENCE, iat, exp: iat + Math.floor(lifetimeSeconds) };
  const payload = toBase64url(utf8(JSON.stringify(claims)));
  const signingInput = `${header}.${payload}`;
  return `${signingInput}.${toBase64url(ed25519.sign(secretKey, utf8(signingInput)))}`;
}

/**
 * Why a token's form is refused: `malformed` (not three canonical base64url parts, a header other
 * than CONNECT_TOKEN_HEADER, a payload that is not a JSON object, a signature not 64 bytes),
 * `alg` (a header naming another algorithm), `claims` (missing, extra or mistyped claims),
 * `audience` (aud not the string "fleet-ota").
 */
export type ConnectTokenFormError = 'malformed' | 'alg' | 'claims' | 'audience';

export type ParsedConnectToken =
  | { ok: true; claims: ConnectTokenClaims; signingInput: string; signature: Uint8Array }
  | { ok: false; error: ConnectTokenFormError };

function decodePart(part: string): Uint8Array | undefined {
  return part.length === 0 ? undefined : fromBase64url(part);
}

function headerError(bytes: Uint8Array): ConnectTokenFormError {
  try {
    const header = JSON.parse(fromUtf8(bytes) ?? '') as unknown;
    if (typeof header === 'object' && header !== null && 'alg' in header && header.alg !== 'EdDSA') return 'alg';
  } catch {
    // not JSON: malformed
  }
  return 'malformed';
}

/**
 * The strict connect-token rule (one rule for every device and broker; docs/protocol.md#device-connect-token, README "Connect token rule"):
 * - compact JWS: exactly three parts, each canonical unpadded base64url (RFC 4648 §5, no `=`,
 *   unused trailing bits zero), none empty;
 * - header: exactly the bytes of CONNECT_TOKEN_HEADER, `{"alg":"EdDSA","typ":"JWT"}` (so no
 *   `typ: "jwt"`, no `kid`, no `crit`, no whitespace);
 * - payload: a UTF-8 JSON object with exactly the members sub, aud, iat, exp: sub a string,
 *   aud the string "fleet-ota" (not an array), iat and exp integer literals (no fraction,
 *   exponent or sign). Any other member is refused, nbf included: the contract has no
 *   not-before (iat already bounds it) and a member one broker ignores and another enforces
 *   is the ambiguity this rule removes;
 * - signature: 64 bytes.
 * Time checks (exp, iat, lifetime) and the signature are the verifier's: they need `now` and the key.
 */
export function parseConnectToken(token: string): ParsedConnectToken {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, error: 'malformed' };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = decodePart(headerPart);
  if (header === undefined) return { ok: false, error: 'malformed' };
  // The header first, so `alg: none` (empty signature) is refused as a wrong algorithm.
  if (fromUtf8(header) !== CONNECT_TOKEN_HEADER) return { ok: false, error: headerError(header) };
  const payload = decodePart(payloadPart);
  const signature = decodePart(signaturePart);
  if (payload === undefined || signature === undefined || signature.length !== SIGNATURE_BYTES) return { ok: false, error: 'malformed' };

  const text = fromUtf8(payload);
  if (text === undefined) return { ok: false, error: 'malformed' };
  let claims: unknown;
  try {
    claims = JSON.parse(text);
  } catch {
    return { ok: false, error: 'malformed' };
  }
  if (typeof claims !== 'object' || claims === null || Array.isArray(claims)) return { ok: false, error: 'malformed' };
  // docs/protocol.md#basics: a member named twice (JSON.parse keeps the last) is refused.
  if (hasDuplicateMembers(text)) return { ok: false, error: 'claims' };
  const members = Object.keys(claims);
  if (members.length !== CONNECT_TOKEN_CLAIMS.length || !CONNECT_TOKEN_CLAIMS.every((name) => members.includes(name))) {
    return { ok: false, error: 'claims' };
  }
  const { sub, aud, iat, exp } = claims as Record<string, unknown>;
  if (aud !== TOKEN_AUDIENCE) return { ok: false, error: 'audience' };
  // JSON.parse reads 6.0 and 6e0 as 6: the integer rule is checked on the text.
  if (typeof sub !== 'string' || !Number.isSafeInteger(iat) || !Number.isSafeInteger(exp) || !hasOnlyIntegerLiterals(text)) {
    return { ok: false, error: 'claims' };
  }
  return { ok: true, claims: { sub, aud, iat: iat as number, exp: exp as number }, signingInput: `${headerPart}.${payloadPart}`, signature };
}
