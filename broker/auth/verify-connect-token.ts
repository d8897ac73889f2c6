// The device connect decision (PROTOCOL.md: Device connect token): a compact JWS, alg EdDSA
// only (RFC 8037), aud "fleet-ota", sub = clientId, lifetime at most the configured maximum,
// 60 s skew. Pure apart from jose's async crypto: time and the key are passed in.
import { importJWK, jwtVerify, errors as joseErrors, type CryptoKey } from 'jose';
import { decodePublicKey, LIMITS, TOKEN_AUDIENCE } from '../../protocol/index.js';
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

export type VerifyConnectTokenResult = { ok: true } | { ok: false; reason: TokenRefusal };

/** Imports a registered device key once (cache it); undefined unless it is 32 base64url bytes. */
export async function importDevicePublicKey(publicKey: string): Promise<DeviceVerifyKey | undefined> {
  if (decodePublicKey(publicKey) === undefined) return undefined;
  try {
    return (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: publicKey }, 'EdDSA')) as DeviceVerifyKey;
  } catch {
    return undefined;
  }
}

function refusalOf(error: unknown): TokenRefusal {
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'token_alg';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'token_signature';
  // JWTExpired is also what jose throws when iat is older than maxTokenAge.
  if (error instanceof joseErrors.JWTExpired) return 'token_expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'token_audience';
    if (error.claim === 'sub') return 'token_subject';
    if (error.reason === 'missing') return 'token_claims';
    if (error.claim === 'iat' || error.claim === 'nbf') return error.reason === 'check_failed' ? 'token_not_yet_valid' : 'token_claims';
    return 'token_claims';
  }
  return 'token_malformed';
}

export async function verifyConnectToken(input: VerifyConnectTokenInput): Promise<VerifyConnectTokenResult> {
  const { deviceId, token, nowSeconds, maxLifetimeSeconds } = input;
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS) return { ok: false, reason: 'token_malformed' };
  const key = typeof input.publicKey === 'string' ? await importDevicePublicKey(input.publicKey) : input.publicKey;
  if (key === undefined) return { ok: false, reason: 'bad_public_key' };
  let claims: { iat?: unknown; exp?: unknown };
  try {
    const verified = await jwtVerify(token, key, {
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
    claims = verified.payload;
  } catch (error) {
    return { ok: false, reason: refusalOf(error) };
  }
  const { iat, exp } = claims;
  if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp) || exp <= iat) {
    return { ok: false, reason: 'token_claims' };
  }
  // PROTOCOL.md: lifetime at most the broker's configured maximum (default 24 h).
  if (exp - iat > maxLifetimeSeconds) return { ok: false, reason: 'token_lifetime' };
  return { ok: true };
}
