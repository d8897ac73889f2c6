// The device connect decision (docs/protocol.md#device-connect-token): first the strict form rule
// shared with the device (protocol/token.ts parseConnectToken: canonical base64url, the exact
// header, exactly sub/aud/iat/exp with integer times), then with jose: signature (EdDSA only,
// RFC 8037), sub = clientId, exp and iat with 60 s skew, lifetime at most the configured maximum.
// Pure apart from jose's async crypto: time and the key are passed in.
import { importJWK, jwtVerify, errors as joseErrors, type CryptoKey } from 'jose';
import { decodePublicKey, isPrimeOrderPublicKey, LIMITS, parseConnectToken, TOKEN_AUDIENCE, type ConnectTokenFormError } from '../../protocol/index.js';
import type { TokenRefusal } from '../refusals.js';

/** A compact JWT longer than this is refused before parsing (a valid one is ~260 characters). */
export const MAX_TOKEN_CHARS = 2048;

export type DeviceVerifyKey = CryptoKey;

export interface VerifyConnectTokenInput {
  deviceId: string;
  token: string;
  /** base64url of the raw 32-byte Ed25519 key, or a key from importDevicePublicKey. */
  publicKey: string | DeviceVerifyKey;
  nowSeconds: number;
  maxLifetimeSeconds: number;
}

/** `expiresAt`: the token's exp, seconds; the broker closes the session once it has passed. */
export type VerifyConnectTokenResult = { ok: true; expiresAt: number } | { ok: false; reason: TokenRefusal };

/**
 * Imports a registered device key once (the device key cache keeps the result); undefined
 * unless it is 32 base64url bytes encoding a prime-order point. The curve check (~1 ms) is the
 * one registration applies in `full` mode; with FLEET_IMPORT_KEY_CHECK=decode it happens here
 * instead, because a small-order key has signatures that verify for every message.
 */
export async function importDevicePublicKey(publicKey: string): Promise<DeviceVerifyKey | undefined> {
  const bytes = decodePublicKey(publicKey);
  if (bytes === undefined || !isPrimeOrderPublicKey(bytes)) return undefined;
  try {
    return (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: publicKey }, 'EdDSA')) as DeviceVerifyKey;
  } catch {
    return undefined;
  }
}

const FORM_REFUSALS: Record<ConnectTokenFormError, TokenRefusal> = {
  malformed: 'token_malformed',
  alg: 'token_alg',
  claims: 'token_claims',
  audience: 'token_audience',
};

function refusalOf(error: unknown): TokenRefusal {
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'token_alg';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token_signature';
  // JWTExpired is also what jose throws when iat is older than maxTokenAge.
  if (error instanceof joseErrors.JWTExpired) return 'token_expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'token_audience';
    if (error.claim === 'sub') return 'token_subject';
    if (error.reason === 'missing') return 'token_claims';
    if (error.claim === 'iat') return error.reason === 'check_failed' ? 'token_not_yet_valid' : 'token_claims';
    return 'token_claims';
  }
  return 'token_malformed';
}

export async function verifyConnectToken(input: VerifyConnectTokenInput): Promise<VerifyConnectTokenResult> {
  const { deviceId, token, nowSeconds, maxLifetimeSeconds } = input;
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'token_malformed' };
  // The strict rule first: jose alone accepts padded base64url, any typ, fractional times, aud arrays.
  const form = parseConnectToken(token);
  if (!form.ok) return { ok: false, reason: FORM_REFUSALS[form.error] };
  const key = typeof input.publicKey === 'string' ? await importDevicePublicKey(input.publicKey) : input.publicKey;
  if (key === undefined) return { ok: false, reason: 'bad_public_key' };
  try {
    await jwtVerify(token, key, {
      // Only EdDSA: refuses `none` and HMAC keyed with the public key (alg confusion).
      algorithms: ['EdDSA'],
      audience: TOKEN_AUDIENCE,
      subject: deviceId,
      clockTolerance: LIMITS.connectTokenSkewSeconds,
      currentDate: new Date(nowSeconds * 1000),
      // maxTokenAge makes jose refuse an iat more than the skew in the future.
      maxTokenAge: maxLifetimeSeconds,
      requiredClaims: ['sub', 'aud', 'iat', 'exp'],
    });
  } catch (error) {
    return { ok: false, reason: refusalOf(error) };
  }
  const { iat, exp } = form.claims;
  if (exp <= iat) return { ok: false, reason: 'token_claims' };
  // docs/protocol.md#device-connect-token: lifetime at most the broker's configured maximum (default 24 h).
  if (exp - iat > maxLifetimeSeconds) return { ok: false, reason: 'token_lifetime' };
  return { ok: true, expiresAt: exp };
}
