// buildConnectToken (PROTOCOL.md: Device connect token): a compact JWS with header
// {"alg":"EdDSA","typ":"JWT"} and claims { sub, aud: "fleet-ota", iat, exp } in seconds,
// signed by the device key. Checked by hand (nodeEd25519) and by an independent JOSE library.
import { importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { UsageError, buildConnectToken, fromBase64url, nobleEd25519, nodeEd25519, toBase64url, utf8 } from '../../protocol/index.js';
import { KEYS, NOW } from '../fixtures/trust-fixtures.js';

const decodeJson = (part: string) => JSON.parse(new TextDecoder().decode(fromBase64url(part)!)) as Record<string, unknown>;

describe('buildConnectToken', () => {
  const token = buildConnectToken('dev-0001', KEYS.device.secretKey, NOW + 0.9, 3600, nodeEd25519);
  const [header, claims, signature] = token.split('.') as [string, string, string];

  it('is three base64url parts with the PROTOCOL.md header and claims (whole seconds)', () => {
    expect(token.split('.')).toHaveLength(3);
    expect(decodeJson(header)).toEqual({ alg: 'EdDSA', typ: 'JWT' });
    expect(decodeJson(claims)).toEqual({ sub: 'dev-0001', aud: 'fleet-ota', iat: NOW, exp: NOW + 3600 });
  });

  it('verifies with nodeEd25519 over the signing input, and not after any change', () => {
    const sig = fromBase64url(signature)!;
    expect(nodeEd25519.verify(KEYS.device.publicKey, utf8(`${header}.${claims}`), sig)).toBe(true);
    const forged = toBase64url(utf8(JSON.stringify({ sub: 'dev-0002', aud: 'fleet-ota', iat: NOW, exp: NOW + 3600 })));
    expect(nodeEd25519.verify(KEYS.device.publicKey, utf8(`${header}.${forged}`), sig)).toBe(false);
    expect(nodeEd25519.verify(KEYS.attacker.publicKey, utf8(`${header}.${claims}`), sig)).toBe(false);
  });

  it('is the same token with either backend (deterministic signatures)', () => {
    expect(buildConnectToken('dev-0001', KEYS.device.secretKey, NOW + 0.9, 3600, nobleEd25519)).toBe(token);
  });

  it('verifies with jose (RFC 8037 EdDSA) with the audience and subject checks', async () => {
    const key = await importJWK({ kty: 'OKP', crv: 'Ed25519', x: toBase64url(KEYS.device.publicKey) }, 'EdDSA');
    const { payload, protectedHeader } = await jwtVerify(token, key, { audience: 'fleet-ota', subject: 'dev-0001', currentDate: new Date((NOW + 60) * 1000) });
    expect(protectedHeader).toEqual({ alg: 'EdDSA', typ: 'JWT' });
    expect(payload.exp).toBe(NOW + 3600);
    await expect(jwtVerify(token, key, { audience: 'fleet-ota', currentDate: new Date((NOW + 3601) * 1000) })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
  });

  it('refuses an invalid device id (a caller bug, UsageError)', () => {
    expect(() => buildConnectToken('dev/1', KEYS.device.secretKey, NOW, 60, nodeEd25519)).toThrow(UsageError);
    expect(() => buildConnectToken('', KEYS.device.secretKey, NOW, 60, nodeEd25519)).toThrow(expect.objectContaining({ code: 'ERR_DEVICE_ID' }));
  });
});
