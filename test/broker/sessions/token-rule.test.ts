// The strict connect-token rule over real MQTT (README "Connect token rule", protocol/token.ts
// parseConnectToken): each non-canonical but correctly signed form is refused CONNACK 4 with its
// reason code, and a registered small-order key (possible with FLEET_IMPORT_KEY_CHECK=decode) is
// refused bad_public_key although a signature verifying for every message exists for it.
import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { encodeDeviceRecord, registryKeys } from '../../../state/device-record.js';
import type { RunningBroker } from '../../../broker/index.js';
import {
  REDIS_URL, deleteByPrefix, endAll, provisionDevice, startTestBroker, testPrefix, tryConnect, uniqueId, type TestDevice,
} from '../helpers.js';

const BAD_CREDENTIALS = 4;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let redis: Redis;
let prefix: string;
let broker: RunningBroker;
let device: TestDevice;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('token-rule');
  broker = await startTestBroker(prefix);
  device = await provisionDevice(redis, prefix, uniqueId('strict'));
});

afterAll(async () => {
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

const b64 = (text: string) => Buffer.from(text).toString('base64url');

/** A token over exactly these encoded parts, correctly signed by the device key. */
function signed(headerPart: string, payloadPart: string, secretKey: Uint8Array): { input: string; signature: string } {
  const input = `${headerPart}.${payloadPart}`;
  return { input, signature: Buffer.from(nodeEd25519.sign(secretKey, Buffer.from(input))).toString('base64url') };
}

/** Connects with `token`; the CONNACK code (0 = accepted) and the refusal counts it added. */
async function attempt(id: string, token: string): Promise<{ code: number | undefined; added: Record<string, number> }> {
  const before = broker.refusals();
  const result = await tryConnect(broker.url, { clientId: id, username: id, password: token });
  if (result.ok) {
    await endAll(result.client);
    return { code: 0, added: {} };
  }
  const after = broker.refusals();
  const added = Object.fromEntries(Object.entries(after).filter(([k, v]) => v !== (before[k] ?? 0)).map(([k, v]) => [k, v - (before[k] ?? 0)]));
  return { code: result.code, added };
}

describe('connect token rule: one strict form', () => {
  it('accepts the form the device builds', async () => {
    expect((await attempt(device.id, device.token())).code).toBe(0);
  });

  it('refuses every non-canonical form of a correctly signed token with its reason code', async () => {
    const now = Math.floor(Date.now() / 1000);
    const header = b64('{"alg":"EdDSA","typ":"JWT"}');
    const claims = (body: string) => b64(body);
    const plain = `{"sub":"${device.id}","aud":"fleet-ota","iat":${now},"exp":${now + 600}}`;
    const good = signed(header, claims(plain), device.key.secretKey);
    // 64 signature bytes = 86 characters with 4 unused bits: setting one is a second spelling.
    const lastChar = good.signature.at(-1)!;
    const nonCanonicalSig = good.signature.slice(0, -1) + B64URL[B64URL.indexOf(lastChar) | 1];
    // A payload whose length is not a multiple of 3 bytes, padded, and signed over the padded text.
    let padBody = plain;
    while (Buffer.byteLength(padBody) % 3 === 0) padBody = padBody.replace('{', '{ ');
    const paddedPayload = Buffer.from(padBody).toString('base64');
    const paddedPayloadUrl = paddedPayload.replace(/\+/g, '-').replace(/\//g, '_');
    const withPadded = signed(header, paddedPayloadUrl, device.key.secretKey);
    const nonCanonicalPayload = (() => {
      const bare = b64(padBody);
      const last = bare.at(-1)!;
      return bare.slice(0, -1) + B64URL[B64URL.indexOf(last) | 1];
    })();
    const withNonCanonicalPayload = signed(header, nonCanonicalPayload, device.key.secretKey);
    const resign = (headerText: string, body: string) => {
      const s = signed(b64(headerText), claims(body), device.key.secretKey);
      return `${s.input}.${s.signature}`;
    };
    const cases: [string, string, string][] = [
      ['padded signature', `${good.input}.${good.signature}==`, 'token_malformed'],
      ['non-canonical signature', `${good.input}.${nonCanonicalSig}`, 'token_malformed'],
      ['padded payload', `${withPadded.input}.${withPadded.signature}`, 'token_malformed'],
      ['non-canonical payload', `${withNonCanonicalPayload.input}.${withNonCanonicalPayload.signature}`, 'token_malformed'],
      ['typ "jwt"', resign('{"alg":"EdDSA","typ":"jwt"}', plain), 'token_malformed'],
      ['an extra header member', resign('{"alg":"EdDSA","typ":"JWT","kid":"k1"}', plain), 'token_malformed'],
      ['fractional iat', resign('{"alg":"EdDSA","typ":"JWT"}', plain.replace(`"iat":${now}`, `"iat":${now}.5`)), 'token_claims'],
      ['fractional exp', resign('{"alg":"EdDSA","typ":"JWT"}', plain.replace(`"exp":${now + 600}`, `"exp":${now + 600}.25`)), 'token_claims'],
      ['iat written 6.0-style', resign('{"alg":"EdDSA","typ":"JWT"}', plain.replace(`"iat":${now}`, `"iat":${now}.0`)), 'token_claims'],
      ['aud as an array', resign('{"alg":"EdDSA","typ":"JWT"}', plain.replace('"aud":"fleet-ota"', '"aud":["fleet-ota"]')), 'token_audience'],
      ['a past nbf', resign('{"alg":"EdDSA","typ":"JWT"}', plain.replace('}', `,"nbf":${now - 60}}`)), 'token_claims'],
    ];
    const outcomes: Record<string, unknown> = {};
    const expected: Record<string, unknown> = {};
    for (const [name, token, reason] of cases) {
      outcomes[name] = await attempt(device.id, token);
      expected[name] = { code: BAD_CREDENTIALS, added: { [reason]: 1 } };
    }
    expect(outcomes).toEqual(expected);
  });
});

describe('registered small-order key (FLEET_IMPORT_KEY_CHECK=decode lets one in)', () => {
  it('is refused bad_public_key although its all-message signature verifies', async () => {
    // The identity point (y = 1): a small-order key. R = identity, S = 0 satisfies
    // [S]B = R + [k]A for every message under the cofactorless equation.
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    const universal = Buffer.concat([identity, Buffer.alloc(32)]);
    const id = uniqueId('small-order');
    await redis.hset(
      registryKeys(prefix).device(id),
      encodeDeviceRecord({
        id, publicKey: identity.toString('base64url'), vendorId: 'acme', classId: 'sensor', groups: [], tags: [], revoked: false, createdAt: '2026-01-01T00:00:00Z',
      }),
    );
    const now = Math.floor(Date.now() / 1000);
    const input = `${b64('{"alg":"EdDSA","typ":"JWT"}')}.${b64(`{"sub":"${id}","aud":"fleet-ota","iat":${now},"exp":${now + 600}}`)}`;
    // Precondition: OpenSSL (what jose uses in Node) accepts it, so only the key check can refuse it.
    const keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: identity.toString('base64url') }, format: 'jwk' });
    expect(nodeVerify(null, Buffer.from(input), keyObject, universal)).toBe(true);
    const first = await attempt(id, `${input}.${universal.toString('base64url')}`);
    expect(first).toEqual({ code: BAD_CREDENTIALS, added: { bad_public_key: 1 } });
    // Decided once per key: the device key cache answers the second attempt the same way.
    const second = await attempt(id, `${input}.${universal.toString('base64url')}`);
    expect(second).toEqual({ code: BAD_CREDENTIALS, added: { bad_public_key: 1 } });
  });
});
