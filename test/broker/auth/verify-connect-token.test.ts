// The connect decision against the shared conformance vectors (every case, `now` injected),
// plus hostile tokens the vectors do not cover. Reasons are asserted as codes.
import { describe, expect, it } from 'vitest';
import { encodePublicKey, parseWireTime } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { generateSigningKey } from '../../../orchestrator/keys/key-file.js';
import { importDevicePublicKey, verifyConnectToken } from '../../../broker/index.js';
import { customToken } from '../helpers.js';
import { loadConformance } from '../../support/conformance.js';

interface TokenCase {
  name: string;
  why: string;
  now: string;
  deviceId: string;
  publicKey: string;
  token: string;
  expect: 'accept' | 'refuse';
}

const vectors = loadConformance<{ cases: TokenCase[] }>('token-vectors.json');
const DAY = 86_400;

describe('verifyConnectToken: shared/conformance/token-vectors.json', () => {
  it('has cases', () => expect(vectors.cases.length).toBeGreaterThanOrEqual(9));
  for (const vector of vectors.cases) {
    it(`${vector.name}: ${vector.expect} (${vector.why})`, async () => {
      const result = await verifyConnectToken({
        deviceId: vector.deviceId,
        token: vector.token,
        publicKey: vector.publicKey,
        nowSeconds: parseWireTime(vector.now)!,
        maxLifetimeSeconds: DAY,
      });
      expect(result.ok ? 'accept' : 'refuse').toBe(vector.expect);
    });
  }

  const expectedReasons: Record<string, string> = {
    expired: 'token_expired',
    wrong_aud: 'token_audience',
    wrong_key: 'token_signature',
    other_subject: 'token_subject',
    too_long_lifetime: 'token_lifetime',
    alg_none: 'token_alg',
    alg_hs256_with_public_key: 'token_alg',
  };
  for (const [name, reason] of Object.entries(expectedReasons)) {
    it(`${name} is refused as ${reason}`, async () => {
      const vector = vectors.cases.find((c) => c.name === name)!;
      const result = await verifyConnectToken({ deviceId: vector.deviceId, token: vector.token, publicKey: vector.publicKey, nowSeconds: parseWireTime(vector.now)!, maxLifetimeSeconds: DAY });
      expect(result).toEqual({ ok: false, reason });
    });
  }
});

describe('verifyConnectToken: hostile and edge tokens', () => {
  const key = generateSigningKey();
  const publicKey = encodePublicKey(key.publicKey);
  const now = 1_780_272_000;
  const claims = { sub: 'dev-1', aud: 'fleet-ota', iat: now, exp: now + 600 };
  const header = { alg: 'EdDSA', typ: 'JWT' };
  const verify = (token: string, overrides: Partial<Parameters<typeof verifyConnectToken>[0]> = {}) =>
    verifyConnectToken({ deviceId: 'dev-1', token, publicKey, nowSeconds: now, maxLifetimeSeconds: DAY, ...overrides });

  it('accepts a well-formed token, and with a pre-imported key', async () => {
    expect(await verify(customToken(header, claims, key.secretKey))).toMatchObject({ ok: true });
    const imported = await importDevicePublicKey(publicKey);
    expect(await verify(customToken(header, claims, key.secretKey), { publicKey: imported! })).toMatchObject({ ok: true });
  });
  it('accepts exp just inside the 60 s skew and refuses it just outside', async () => {
    const token = customToken(header, { ...claims, iat: now - 600, exp: now - 59 }, key.secretKey);
    expect(await verify(token)).toMatchObject({ ok: true });
    expect(await verify(customToken(header, { ...claims, iat: now - 600, exp: now - 61 }, key.secretKey))).toEqual({ ok: false, reason: 'token_expired' });
  });
  it('refuses an iat more than 60 s in the future', async () => {
    const token = customToken(header, { ...claims, iat: now + 120, exp: now + 720 }, key.secretKey);
    expect(await verify(token)).toEqual({ ok: false, reason: 'token_not_yet_valid' });
  });
  it('refuses a token older than the maximum lifetime even if exp is far away', async () => {
    expect(await verify(customToken(header, { ...claims, iat: now - DAY - 120, exp: now + 10 }, key.secretKey))).toEqual({ ok: false, reason: 'token_expired' });
  });
  it('accepts a lifetime of exactly the maximum, refuses one second more', async () => {
    expect(await verify(customToken(header, { ...claims, exp: now + DAY }, key.secretKey))).toMatchObject({ ok: true });
    expect(await verify(customToken(header, { ...claims, exp: now + DAY + 1 }, key.secretKey))).toEqual({ ok: false, reason: 'token_lifetime' });
  });
  it('refuses missing claims', async () => {
    for (const missing of ['sub', 'aud', 'iat', 'exp']) {
      const partial: Record<string, unknown> = { ...claims };
      delete partial[missing];
      const result = await verify(customToken(header, partial, key.secretKey));
      expect(result.ok, missing).toBe(false);
    }
    const { iat: _iat, ...noIat } = claims;
    expect(await verify(customToken(header, noIat, key.secretKey))).toEqual({ ok: false, reason: 'token_claims' });
  });
  it('refuses exp not after iat', async () => {
    expect(await verify(customToken(header, { ...claims, exp: now }, key.secretKey))).toEqual({ ok: false, reason: 'token_claims' });
    expect(await verify(customToken(header, { ...claims, exp: now - 5 }, key.secretKey))).toEqual({ ok: false, reason: 'token_claims' });
  });
  it('refuses the Ed25519 "Ed25519" alg name and other algs: only EdDSA', async () => {
    expect(await verify(customToken({ alg: 'Ed25519' }, claims, key.secretKey))).toEqual({ ok: false, reason: 'token_alg' });
    expect(await verify(customToken({ alg: 'ES256' }, claims, key.secretKey))).toEqual({ ok: false, reason: 'token_alg' });
  });
  it('refuses unknown critical headers', async () => {
    expect(await verify(customToken({ ...header, crit: ['x-fleet'], 'x-fleet': 1 }, claims, key.secretKey))).toMatchObject({ ok: false });
  });
  it('refuses malformed, empty and oversized tokens', async () => {
    for (const token of ['', 'a.b', 'a.b.c', '...', 'x'.repeat(5000), `${customToken(header, claims, key.secretKey)}x`]) {
      const result = await verify(token);
      expect(result.ok, token.slice(0, 20)).toBe(false);
    }
    expect(await verify('x'.repeat(5000))).toEqual({ ok: false, reason: 'token_malformed' });
  });
  it('refuses a registered key that is not 32 base64url bytes', async () => {
    const token = customToken(header, claims, key.secretKey);
    for (const bad of ['', 'abc', `${publicKey}AA`, publicKey.replace(/.$/, '*')]) {
      expect(await verify(token, { publicKey: bad })).toEqual({ ok: false, reason: 'bad_public_key' });
    }
  });
  it('refuses a signature by another key and a flipped signature byte', async () => {
    const other = generateSigningKey();
    expect(await verify(customToken(header, claims, other.secretKey))).toEqual({ ok: false, reason: 'token_signature' });
    const token = customToken(header, claims, key.secretKey);
    const [h, p, s] = token.split('.') as [string, string, string];
    const sig = Buffer.from(s, 'base64url');
    sig[10] = sig[10]! ^ 1;
    expect(await verify(`${h}.${p}.${sig.toString('base64url')}`)).toEqual({ ok: false, reason: 'token_signature' });
    expect(nodeEd25519.name).toBe('node');
  });
});
