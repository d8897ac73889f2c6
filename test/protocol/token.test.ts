// buildConnectToken (docs/protocol.md#device-connect-token): a compact JWS with header
// {"alg":"EdDSA","typ":"JWT"} and claims { sub, aud: "fleet-ota", iat, exp } in seconds,
// signed by the device key. Checked by hand (nodeEd25519) and by an independent JOSE library.
import { importJWK, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { CONNECT_TOKEN_HEADER, UsageError, buildConnectToken, fromBase64url, parseConnectToken, nobleEd25519, toBase64url, utf8 } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { KEYS, NOW } from '../fixtures/trust-fixtures.js';

const decodeJson = (part: string) => JSON.parse(new TextDecoder().decode(fromBase64url(part)!)) as Record<string, unknown>;

describe('buildConnectToken', () => {
  const token = buildConnectToken('dev-0001', KEYS.device.secretKey, NOW + 0.9, 3600, nodeEd25519);
  const [header, claims, signature] = token.split('.') as [string, string, string];

  it('is three base64url parts with the docs/protocol.md header and claims (whole seconds)', () => {
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

// The strict connect-token rule (protocol/token.ts parseConnectToken; README "Connect token rule").
describe('parseConnectToken: one strict form', () => {
  const ok = buildConnectToken('dev-0001', KEYS.device.secretKey, NOW, 3600, nodeEd25519);
  const [h, p, s] = ok.split('.') as [string, string, string];
  const b64 = (text: string) => toBase64url(utf8(text));
  const claimsText = (extra = '') => `{"sub":"dev-0001","aud":"fleet-ota","iat":${NOW},"exp":${NOW + 3600}${extra}}`;

  it('accepts what buildConnectToken makes, with its claims and signing input', () => {
    const parsed = parseConnectToken(ok);
    expect(parsed).toMatchObject({ ok: true, claims: { sub: 'dev-0001', aud: 'fleet-ota', iat: NOW, exp: NOW + 3600 }, signingInput: `${h}.${p}` });
    expect(CONNECT_TOKEN_HEADER).toBe('{"alg":"EdDSA","typ":"JWT"}');
  });

  // 64 bytes = 86 characters with 4 unused bits: setting one gives a second spelling of the same bytes.
  const lastIndex = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.indexOf(s.at(-1)!);
  const nonCanonicalSig = s.slice(0, -1) + 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'[lastIndex | 1];
  const cases: [string, string, string][] = [
    ['padded signature', `${h}.${p}.${s}==`, 'malformed'],
    ['non-canonical signature (unused bits set)', `${h}.${p}.${nonCanonicalSig}`, 'malformed'],
    ['padded payload', `${h}.${b64(claimsText(' '))}=.${s}`, 'malformed'],
    ['typ "jwt"', `${b64('{"alg":"EdDSA","typ":"jwt"}')}.${p}.${s}`, 'malformed'],
    ['extra header member', `${b64('{"alg":"EdDSA","typ":"JWT","kid":"k"}')}.${p}.${s}`, 'malformed'],
    ['header with whitespace', `${b64('{"alg": "EdDSA", "typ": "JWT"}')}.${p}.${s}`, 'malformed'],
    ['another alg', `${b64('{"alg":"HS256","typ":"JWT"}')}.${p}.${s}`, 'alg'],
    ['fractional iat', `${h}.${b64(claimsText().replace(`"iat":${NOW}`, `"iat":${NOW}.5`))}.${s}`, 'claims'],
    ['iat written 6.0-style', `${h}.${b64(claimsText().replace(`"iat":${NOW}`, `"iat":${NOW}.0`))}.${s}`, 'claims'],
    ['exp with exponent', `${h}.${b64(claimsText().replace(`"exp":${NOW + 3600}`, `"exp":${(NOW + 3600) / 100}e2`))}.${s}`, 'claims'],
    ['aud as an array', `${h}.${b64(claimsText().replace('"aud":"fleet-ota"', '"aud":["fleet-ota"]'))}.${s}`, 'audience'],
    ['another aud', `${h}.${b64(claimsText().replace('"aud":"fleet-ota"', '"aud":"other"'))}.${s}`, 'audience'],
    ['an nbf member', `${h}.${b64(claimsText(`,"nbf":${NOW}`))}.${s}`, 'claims'],
    ['a missing claim', `${h}.${b64(`{"sub":"dev-0001","aud":"fleet-ota","iat":${NOW}}`)}.${s}`, 'claims'],
    ['a string iat', `${h}.${b64(claimsText().replace(`"iat":${NOW}`, `"iat":"${NOW}"`))}.${s}`, 'claims'],
    ['payload not an object', `${h}.${b64('[1]')}.${s}`, 'malformed'],
    ['two parts', `${h}.${p}`, 'malformed'],
    ['four parts', `${h}.${p}.${s}.${s}`, 'malformed'],
    ['empty signature', `${h}.${p}.`, 'malformed'],
    ['short signature', `${h}.${p}.${s.slice(0, 84)}`, 'malformed'],
  ];
  for (const [name, token, error] of cases) {
    it(`refuses ${name} (${error})`, () => expect(parseConnectToken(token)).toEqual({ ok: false, error }));
  }
});
