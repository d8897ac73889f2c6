// Device connect token (PROTOCOL.md: Device connect token): a compact JWS, alg EdDSA (RFC 8037),
// signed by the device key. Built here so a device needs nothing beyond protocol/; the broker
// verifies with jose.
import type { Ed25519 } from './crypto/ed25519.js';
import { toBase64url } from './encoding/base64url.js';
import { utf8 } from './encoding/utf8.js';
import { UsageError } from './errors.js';
import { isDeviceId } from './ids.js';

export const TOKEN_AUDIENCE = 'fleet-ota';

export interface ConnectTokenClaims {
  sub: string;
  aud: typeof TOKEN_AUDIENCE;
  iat: number;
  exp: number;
}

export function buildConnectToken(deviceId: string, secretKey: Uint8Array, nowSeconds: number, lifetimeSeconds: number, ed25519: Ed25519): string {
  if (!isDeviceId(deviceId)) throw new UsageError('ERR_DEVICE_ID', 'invalid device id');
  const header = toBase64url(utf8(JSON.stringify({ alg: 'EdDSA', typ: 'JWT' })));
  const iat = Math.floor(nowSeconds);
  const claims: ConnectTokenClaims = { sub: deviceId, aud: TOKEN_AUDIENCE, iat, exp: iat + Math.floor(lifetimeSeconds) };
  const payload = toBase64url(utf8(JSON.stringify(claims)));
  const signingInput = `${header}.${payload}`;
  return `${signingInput}.${toBase64url(ed25519.sign(secretKey, utf8(signingInput)))}`;
}
