// Attacks on steps 6-9 of the device checks (docs/protocol.md#device-checks-in-order: manifest signature threshold, manifest
// digest matches the directive, vendor and class match, sequence greater than installed).
import { describe, expect, it } from 'vitest';
import { canonicalBytes, manifestDigest, nobleEd25519, sha256Hex } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import {
  DEVICE,
  KEYS,
  NOW,
  at,
  check,
  clone,
  directiveBody,
  encodeMessage,
  outcome,
  releaseBody,
  rootBody,
  scenario,
  signDirectiveWith,
  signReleaseWith,
  signRootWith,
  type Scenario,
} from '../../fixtures/trust-fixtures.js';

describe.each([nodeEd25519, nobleEd25519])('release attacks ($name)', (backend) => {
  const run = (s: Scenario, now = NOW) => outcome(check(s.state, s.bytes, backend, now));

  describe('release_signature', () => {
    it('refuses a manifest forged with an unlisted key under the release keyid', () => {
      expect(run(scenario({ releaseSigners: [{ ...KEYS.attacker, keyid: KEYS.release[0].keyid }] }))).toBe('release_signature');
    });
    it('refuses a manifest signed by the director key (role confusion: a compromised orchestrator alone cannot ship an image)', () => {
      expect(run(scenario({ releaseSigners: [KEYS.director[0]] }))).toBe('release_signature');
    });
    it('refuses a manifest whose payload was swapped after signing, even when the directive names the new digest', () => {
      // A compromised orchestrator rewrites the payload and signs a directive for it.
      const s = scenario();
      const m = clone(s.message);
      m.release.signed.payload.uri = 'https://evil.example.test/implant.bin';
      m.directive = signDirectiveWith(directiveBody(m.release.signed));
      expect(outcome(check(s.state, encodeMessage(m), backend))).toBe('release_signature');
    });
    it('refuses a manifest with no signatures', () => {
      const s = scenario();
      const m = clone(s.message);
      m.release.signatures = [];
      expect(outcome(check(s.state, encodeMessage(m), backend))).toBe('release_signature');
    });
    it('refuses a malformed release signature', () => {
      const s = scenario();
      const m = clone(s.message);
      m.release.signatures[0]!.sig = m.release.signatures[0]!.sig.slice(0, 40);
      expect(outcome(check(s.state, encodeMessage(m), backend))).toBe('release_signature');
    });

    describe('threshold 2 of 3 release keys', () => {
      const root = signRootWith(rootBody({ version: 1, release: { keys: KEYS.release, threshold: 2 } }), KEYS.root);
      it('refuses one release signature', () => {
        expect(run(scenario({ trusted: root, releaseSigners: [KEYS.release[2]] }))).toBe('release_signature');
      });
      it('refuses one release signature repeated (a keyid counts once)', () => {
        const s = scenario({ trusted: root, releaseSigners: [KEYS.release[2]] });
        const m = clone(s.message);
        m.release.signatures = [m.release.signatures[0]!, m.release.signatures[0]!];
        expect(outcome(check(s.state, encodeMessage(m), backend))).toBe('release_signature');
      });
      it('accepts two distinct release signatures', () => {
        expect(run(scenario({ trusted: root, releaseSigners: [KEYS.release[0], KEYS.release[2]] }))).toBe('plan');
      });
    });
  });

  describe('release_expired', () => {
    it('refuses a manifest whose expiresAt is past', () => {
      expect(run(scenario({ release: releaseBody({ expiresAt: at(-1) }) }))).toBe('release_expired');
    });
    it('refuses at exactly expiresAt and accepts one second before', () => {
      const s = scenario({ release: releaseBody({ expiresAt: at(600) }) });
      expect(run(s, NOW + 600)).toBe('release_expired');
      expect(run(s, NOW + 599)).toBe('plan');
    });
    it('accepts a manifest without expiresAt (optional)', () => {
      const release = releaseBody();
      expect('expiresAt' in release).toBe(false);
      expect(run(scenario({ release }))).toBe('plan');
    });
  });

  describe('digest_mismatch', () => {
    it('refuses mix-and-match: a valid manifest for another release under a directive for this one', () => {
      const intended = releaseBody({ sequence: 5 });
      const other = releaseBody({ sequence: 6 });
      const s = scenario({ release: intended });
      const m = { ...s.message, release: signReleaseWith(other) };
      expect(outcome(check(s.state, encodeMessage(m), backend))).toBe('digest_mismatch');
    });
    it('refuses a directive naming the digest of the whole manifest envelope instead of its signed body', () => {
      // docs/protocol.md#release-manifest: the digest covers the canonical bytes of `signed` only.
      const release = releaseBody();
      const envelopeDigest = sha256Hex(canonicalBytes(signReleaseWith(release)));
      expect(run(scenario({ release, directive: { manifestSha256: envelopeDigest } }))).toBe('digest_mismatch');
      expect(run(scenario({ release, directive: { manifestSha256: manifestDigest(release) } }))).toBe('plan');
    });
  });

  describe('wrong_target', () => {
    it('refuses a manifest for another class', () => {
      expect(run(scenario({ release: releaseBody({ classId: 'gw-3' }) }))).toBe('wrong_target');
    });
    it('refuses a manifest for another vendor', () => {
      expect(run(scenario({ release: releaseBody({ vendorId: 'other-vendor' }) }))).toBe('wrong_target');
    });
    it('refuses a cancel for another class too (a cancel still names a release)', () => {
      expect(run(scenario({ release: releaseBody({ classId: 'gw-3' }), directive: { action: 'cancel' } }))).toBe('wrong_target');
    });
  });

  describe('rollback', () => {
    it('refuses a manifest with a lower sequence than installed', () => {
      expect(run(scenario({ release: releaseBody({ sequence: DEVICE.sequence - 1 }) }))).toBe('rollback');
      expect(run(scenario({ release: releaseBody({ sequence: 0 }) }))).toBe('rollback');
    });
  });

  describe('needs_intermediate', () => {
    it('refuses when the installed sequence is below minSequence', () => {
      expect(run(scenario({ release: releaseBody({ sequence: 9, minSequence: DEVICE.sequence + 1 }) }))).toBe('needs_intermediate');
    });
    it('accepts when the installed sequence equals minSequence (boundary)', () => {
      expect(run(scenario({ release: releaseBody({ sequence: 9, minSequence: DEVICE.sequence }) }))).toBe('plan');
    });
  });

  describe('order of checks', () => {
    it('release signature before release expiry', () => {
      expect(run(scenario({ release: releaseBody({ expiresAt: at(-1) }), releaseSigners: [KEYS.attacker] }))).toBe('release_signature');
    });
    it('release expiry before digest', () => {
      const s = scenario({ release: releaseBody({ expiresAt: at(-1) }) });
      const m = { ...s.message, directive: signDirectiveWith(directiveBody(releaseBody({ sequence: 8 }))) };
      expect(outcome(check(s.state, encodeMessage(m), backend))).toBe('release_expired');
    });
    it('digest before target', () => {
      const s = scenario({ release: releaseBody({ classId: 'gw-3' }) });
      const m = { ...s.message, directive: signDirectiveWith(directiveBody(releaseBody())) };
      expect(outcome(check(s.state, encodeMessage(m), backend))).toBe('digest_mismatch');
    });
    it('target before rollback', () => {
      expect(run(scenario({ release: releaseBody({ classId: 'gw-3', sequence: 1 }) }))).toBe('wrong_target');
    });
    it('rollback before needs_intermediate', () => {
      expect(run(scenario({ release: releaseBody({ sequence: 2, minSequence: 3 }) }))).toBe('rollback');
    });
  });
});
