// Attacks on step 2 of the device checks (docs/protocol.md#root-document): the root chain and the
// expiry of the newest root. Each asserts root_invalid or root_expired exactly.
import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  ProtocolError,
  encodePublicKey,
  nobleEd25519,
  updateRoot,
  verifyNextRoot,
  verifyTrustAnchor,
  type RootEnvelope,
  type RootSigned,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import {
  DAY,
  KEYS,
  NOW,
  ROOT_V1,
  at,
  check,
  clone,
  outcome,
  rootBody,
  rotationChain,
  scenario,
  signRaw,
  signRootWith,
  type LooseJson,
} from '../../fixtures/trust-fixtures.js';

/** The code a throwing protocol call fails with, or 'ok'. */
function codeOf(run: () => unknown): string {
  try {
    run();
    return 'ok';
  } catch (error) {
    return error instanceof ProtocolError ? error.code : `unexpected ${String(error)}`;
  }
}

describe.each([nodeEd25519, nobleEd25519])('root chain attacks ($name)', (backend) => {
  const chain = rotationChain().envelopes;
  const [v1, v2, v3] = chain as [RootEnvelope, RootEnvelope, RootEnvelope, RootEnvelope, RootEnvelope];
  /** A message the v2 director key signed, carrying `roots`, checked by a device trusting `trusted`. */
  const run = (roots: RootEnvelope[], trusted: RootSigned | RootEnvelope = v1, now = NOW) => {
    const s = scenario({ roots, trusted, directiveSigners: [KEYS.director[1]], directive: { rootVersion: 2 } });
    return outcome(check(s.state, s.bytes, backend, now));
  };

  it('control: v1 -> v2 with a valid v2 yields a plan', () => {
    expect(run([v2])).toBe('plan');
  });

  it('refuses a skipped version (v1 -> v3)', () => {
    expect(run([v3])).toBe('root_invalid');
  });

  it('refuses a gap later in the chain (v2, v4)', () => {
    expect(run([v2, chain[3]!])).toBe('root_invalid');
  });

  it('refuses versions out of order (v3, v2)', () => {
    expect(run([v3, v2])).toBe('root_invalid');
  });

  it('refuses a root signed only by the new root keys', () => {
    const body = rootBody({ version: 2, director: { keys: [KEYS.director[1]] }, root: { keys: KEYS.newRoot, threshold: 2 } });
    expect(run([signRootWith(body, [KEYS.newRoot[0], KEYS.newRoot[1], KEYS.newRoot[2]])])).toBe('root_invalid');
    // Control: the same body with the old threshold added is accepted.
    expect(run([signRootWith(body, [KEYS.root[0], KEYS.root[1], KEYS.newRoot[0], KEYS.newRoot[1]])])).toBe('plan');
  });

  it('refuses a root signed only by the old root keys', () => {
    const body = rootBody({ version: 2, director: { keys: [KEYS.director[1]] }, root: { keys: KEYS.newRoot, threshold: 2 } });
    expect(run([signRootWith(body, [KEYS.root[0], KEYS.root[1], KEYS.root[2]])])).toBe('root_invalid');
  });

  it('refuses a root below the threshold (1 of 2 required)', () => {
    const body = rootBody({ version: 2, director: { keys: [KEYS.director[1]] } });
    expect(run([signRootWith(body, [KEYS.root[0]])])).toBe('root_invalid');
  });

  it('refuses a root whose one key signed twice (duplicates count once)', () => {
    const body = rootBody({ version: 2, director: { keys: [KEYS.director[1]] } });
    const once = signRootWith(body, [KEYS.root[0]]);
    const twice = { ...once, signatures: [once.signatures[0]!, once.signatures[0]!] };
    expect(run([twice])).toBe('root_invalid');
  });

  it('refuses a root whose keys map names a key under a wrong keyid', () => {
    // The attacker's key is listed under the legitimate director-2 keyid: without the keyid
    // check the attacker's directives would verify (the root threshold itself is met).
    const body = clone(rootBody({ version: 2, director: { keys: [KEYS.director[1]] } }));
    body.keys[KEYS.director[1].keyid] = { keytype: 'ed25519', public: encodePublicKey(KEYS.attacker.publicKey) };
    const root = signRaw(body, [KEYS.root[0], KEYS.root[1]]);
    const s = scenario({ roots: [root], directiveSigners: [{ ...KEYS.attacker, keyid: KEYS.director[1].keyid }], directive: { rootVersion: 2 } });
    expect(outcome(check(s.state, s.bytes, backend))).toBe('root_invalid');
  });

  it('refuses a root listing a public key that is not 32 bytes', () => {
    const body = clone(rootBody({ version: 2, director: { keys: [KEYS.director[1]] } }));
    body.keys[KEYS.director[1].keyid]!.public = 'AAAA';
    expect(run([signRaw(body, [KEYS.root[0], KEYS.root[1]])])).toBe('root_invalid');
  });

  it('refuses a root with a tampered body after signing', () => {
    const tampered = clone(v2) as LooseJson;
    tampered.signed.roles.director.keyids = [KEYS.director[0].keyid, KEYS.director[1].keyid];
    tampered.signed.keys[KEYS.director[0].keyid] = { keytype: 'ed25519', public: encodePublicKey(KEYS.director[0].publicKey) };
    expect(run([tampered])).toBe('root_invalid');
  });

  it('refuses a root whose signatures were made by keys the trusted root does not list', () => {
    const body = rootBody({ version: 2, director: { keys: [KEYS.director[1]] } });
    const forged = signRootWith(body, [KEYS.attacker]);
    const relabeled = { ...forged, signatures: [KEYS.root[0], KEYS.root[1]].map((k) => ({ keyid: k.keyid, sig: forged.signatures[0]!.sig })) };
    expect(run([relabeled])).toBe('root_invalid');
  });

  it('walks the whole chain v1..v5 (root keys replaced at v4)', () => {
    const s = scenario({ roots: chain.slice(1), directiveSigners: [KEYS.director[1]], releaseSigners: [KEYS.release[1], KEYS.release[2]], directive: { rootVersion: 5 } });
    const result = check(s.state, s.bytes, backend);
    expect(outcome(result)).toBe('plan');
    expect(result.ok && result.plan.root.version).toBe(5);
  });

  it('skips roots the device already holds (device at v2, chain v1, v2)', () => {
    // If held versions were not skipped, v1 or v2 would fail the +1 version rule.
    expect(run([v1, v2], v2)).toBe('plan');
  });

  it('accepts an empty chain and keeps the trusted root', () => {
    const s = scenario();
    const result = check(s.state, s.bytes, backend);
    expect(result.ok && result.plan.root).toEqual(ROOT_V1.signed);
  });

  describe('root_expired', () => {
    it('refuses when the trusted root is expired and no newer root comes', () => {
      expect(run([v2], v1, NOW + 400 * DAY)).toBe('root_expired');
    });
    it('refuses exactly at expiresAt (expired means now >= expiresAt)', () => {
      const expiry = NOW + 365 * DAY;
      const s = scenario({ directive: { expiresAt: at(400 * DAY) } });
      expect(outcome(check(s.state, s.bytes, backend, expiry))).toBe('root_expired');
      expect(outcome(check(s.state, s.bytes, backend, expiry - 1))).toBe('plan');
    });
    it('accepts an expired trusted root when the chain reaches an unexpired one (only the newest matters)', () => {
      const oldV1 = signRootWith(rootBody({ version: 1, expiresAt: at(-DAY) }), [KEYS.root[0], KEYS.root[1]]);
      expect(run([v2], oldV1)).toBe('plan');
    });
    it('refuses when the newest root of the chain is expired', () => {
      const staleV2 = signRootWith(rootBody({ version: 2, director: { keys: [KEYS.director[1]] }, expiresAt: at(-1) }), [KEYS.root[0], KEYS.root[1]]);
      expect(run([staleV2])).toBe('root_expired');
    });
    it('checks signatures before expiry: a forged expired root is root_invalid', () => {
      const staleV2 = signRootWith(rootBody({ version: 2, expiresAt: at(-1) }), [KEYS.attacker]);
      expect(run([staleV2])).toBe('root_invalid');
    });
  });

  describe('root-chain.ts functions directly', () => {
    it('updateRoot refuses a chain longer than the limit (the message schema also caps it)', () => {
      const tooLong = Array.from({ length: LIMITS.rootsPerMessage + 1 }, () => v1);
      expect(codeOf(() => updateRoot(v1.signed, tooLong, NOW, backend))).toBe('root_invalid');
      expect(codeOf(() => updateRoot(v1.signed, tooLong.slice(1), NOW, backend))).toBe('ok');
    });
    it('verifyNextRoot refuses a document that does not match the schema', () => {
      expect(codeOf(() => verifyNextRoot(v1.signed, { signed: { _type: 'root' } } as unknown as RootEnvelope, backend))).toBe('root_invalid');
      expect(codeOf(() => verifyNextRoot(v1.signed, v2, backend))).toBe('ok');
    });
    it('verifyNextRoot refuses the same version again', () => {
      expect(codeOf(() => verifyNextRoot(v2.signed, v2, backend))).toBe('root_invalid');
    });
    it('verifyTrustAnchor accepts v1 and refuses one without its own threshold or with a wrong keyid', () => {
      expect(verifyTrustAnchor(v1, backend)).toEqual(v1.signed);
      expect(codeOf(() => verifyTrustAnchor(signRootWith(v1.signed, [KEYS.root[0]]), backend))).toBe('root_invalid');
      const wrong = clone(v1.signed);
      wrong.keys[KEYS.director[0].keyid]!.public = encodePublicKey(KEYS.attacker.publicKey);
      expect(codeOf(() => verifyTrustAnchor(signRaw(wrong, KEYS.root), backend))).toBe('root_invalid');
      expect(codeOf(() => verifyTrustAnchor({ signed: 'x' } as unknown as RootEnvelope, backend))).toBe('root_invalid');
    });
  });
});
