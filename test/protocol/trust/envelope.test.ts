// Signed envelopes and role thresholds (docs/protocol.md#signed-envelope), tested directly: distinct
// keyids, unknown keyids ignored, duplicates counted once, malformed signatures invalid, at most
// 16 signatures, and a threshold below 1 never met.
import { describe, expect, it } from 'vitest';
import {
  UsageError,
  addSignatures,
  countValidSignatures,
  fromBase64url,
  meetsThreshold,
  nobleEd25519,
  roleKeysOf,
  signEnvelope,
  toBase64url,
  type RoleKeys,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { KEYS, ROOT_V1, fixtureKey } from '../../fixtures/trust-fixtures.js';

const body = { _type: 'note', text: 'hello', n: 1 };
const role = (keys: typeof KEYS.director[number][], threshold: number): RoleKeys => ({ keys: new Map(keys.map((k) => [k.keyid, k.publicKey])), threshold });

describe.each([nodeEd25519, nobleEd25519])('envelope thresholds ($name)', (backend) => {
  const signers = [KEYS.director[0], KEYS.director[1], KEYS.director[2]];
  const env = signEnvelope(body, signers, nodeEd25519);

  it('counts valid signatures from keys the role lists', () => {
    expect(countValidSignatures(env, role(signers, 2), backend)).toBe(3);
    expect(countValidSignatures(env, role([KEYS.director[0]], 1), backend)).toBe(1);
  });

  it('a threshold below 1 is never met, even by an empty role', () => {
    expect(meetsThreshold({ signed: body, signatures: [] }, role([], 0), backend)).toBe(false);
    expect(meetsThreshold(env, role(signers, 0), backend)).toBe(false);
  });

  it('ignores unknown keyids and counts a repeated keyid once', () => {
    const first = env.signatures[0]!;
    const doubled = { signed: body, signatures: [first, first, first, { keyid: KEYS.attacker.keyid, sig: first.sig }] };
    expect(countValidSignatures(doubled, role(signers, 2), backend)).toBe(1);
    expect(meetsThreshold(doubled, role(signers, 2), backend)).toBe(false);
  });

  it('counts a malformed signature as invalid without failing the others', () => {
    const valid = env.signatures[1]!;
    const sig64 = fromBase64url(valid.sig)!;
    const malformed = [
      { keyid: KEYS.director[0].keyid, sig: '***' },
      { keyid: KEYS.director[0].keyid, sig: toBase64url(Uint8Array.from([...sig64, 0])) },
      { keyid: KEYS.director[2].keyid, sig: toBase64url(sig64.subarray(0, 63)) },
    ];
    expect(countValidSignatures({ signed: body, signatures: [...malformed, valid] }, role(signers, 1), backend)).toBe(1);
  });

  it('checks the signature against the body (a changed body counts zero)', () => {
    expect(countValidSignatures({ signed: { ...body, n: 2 }, signatures: env.signatures }, role(signers, 1), backend)).toBe(0);
  });

  it('roleKeysOf takes the role keys from a root', () => {
    const director = roleKeysOf(ROOT_V1.signed, 'director');
    expect([...director.keys.keys()]).toEqual([KEYS.director[0].keyid]);
    expect(director.threshold).toBe(1);
    expect(roleKeysOf(ROOT_V1.signed, 'root').threshold).toBe(2);
  });
});

describe('signing envelopes', () => {
  it('refuses more than 16 signers (UsageError ERR_TOO_MANY_KEYS)', () => {
    const many = Array.from({ length: 17 }, (_, i) => fixtureKey(`many-${i}`));
    expect(() => signEnvelope(body, many, nodeEd25519)).toThrow(UsageError);
    expect(signEnvelope(body, many.slice(0, 16), nodeEd25519).signatures).toHaveLength(16);
  });

  it('addSignatures adds one officer at a time, keeps the body and replaces a keyid already present', () => {
    const one = signEnvelope(body, [KEYS.root[0]], nodeEd25519);
    const two = addSignatures(one, [KEYS.root[1]], nodeEd25519);
    expect(two.signed).toBe(one.signed);
    expect(two.signatures.map((s) => s.keyid)).toEqual([KEYS.root[0].keyid, KEYS.root[1].keyid]);
    const again = addSignatures(two, [KEYS.root[0]], nodeEd25519);
    expect(again.signatures).toHaveLength(2);
    expect(countValidSignatures(again, role([KEYS.root[0], KEYS.root[1]], 2), nodeEd25519)).toBe(2);
  });
});
