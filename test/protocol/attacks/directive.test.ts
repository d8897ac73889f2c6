// Attacks on steps 3-5 of the device checks (docs/protocol.md#device-checks-in-order: directive signature threshold,
// addressed to this device, not expired, counter greater than the last seen).
import { describe, expect, it } from 'vitest';
import { nobleEd25519, toBase64url } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import {
  DAY,
  DEVICE,
  KEYS,
  NOW,
  at,
  check,
  clone,
  encodeMessage,
  outcome,
  rootBody,
  scenario,
  signRootWith,
  type Scenario,
} from '../../fixtures/trust-fixtures.js';

describe.each([nodeEd25519, nobleEd25519])('directive attacks ($name)', (backend) => {
  const run = (s: Scenario, now = NOW) => outcome(check(s.state, s.bytes, backend, now));
  const rerun = (s: Scenario, message: unknown) => outcome(check(s.state, encodeMessage(message), backend));

  describe('directive_signature', () => {
    it('refuses a directive forged with an unlisted key under the director keyid', () => {
      const s = scenario({ directiveSigners: [{ ...KEYS.attacker, keyid: KEYS.director[0].keyid }] });
      expect(run(s)).toBe('directive_signature');
    });
    it('refuses a directive signed by an unlisted key under its own keyid', () => {
      expect(run(scenario({ directiveSigners: [KEYS.attacker] }))).toBe('directive_signature');
    });
    it('refuses a directive with no signatures', () => {
      const s = scenario();
      expect(rerun(s, { ...s.message, directive: { ...s.message.directive, signatures: [] } })).toBe('directive_signature');
    });
    it('refuses a directive whose body changed after signing (counter raised)', () => {
      const s = scenario();
      const m = clone(s.message);
      m.directive.signed.counter += 100;
      expect(rerun(s, m)).toBe('directive_signature');
    });
    it('refuses a directive signed by the release key (role confusion)', () => {
      expect(run(scenario({ directiveSigners: [KEYS.release[0]] }))).toBe('directive_signature');
    });
    it('refuses a directive signed by a root key (role confusion)', () => {
      expect(run(scenario({ directiveSigners: [KEYS.root[0]] }))).toBe('directive_signature');
    });
    it('refuses a valid director signature lifted from another directive', () => {
      const s = scenario();
      const m = clone(s.message);
      m.directive.signatures = [{ keyid: KEYS.director[0].keyid, sig: scenario({ directiveSigners: [KEYS.director[0]], directive: { counter: 99 } }).message.directive.signatures[0]!.sig }];
      expect(rerun(s, m)).toBe('directive_signature');
    });

    it.each([
      ['not base64url', '!!!!'],
      ['63 bytes', toBase64url(new Uint8Array(63))],
      ['65 bytes', toBase64url(new Uint8Array(65))],
      ['64 zero bytes', toBase64url(new Uint8Array(64))],
      ['non-zero trailing bits', `${'A'.repeat(85)}B`],
      ['empty', ''],
    ])('refuses a malformed signature (%s) as directive_signature, not bad_schema', (_what, sig) => {
      const s = scenario();
      const m = clone(s.message);
      m.directive.signatures = [{ keyid: KEYS.director[0].keyid, sig }];
      expect(rerun(s, m)).toBe('directive_signature');
    });
    it('still accepts a valid signature beside a malformed one (malformed counts as invalid, not fatal)', () => {
      const s = scenario();
      const m = clone(s.message);
      m.directive.signatures.unshift({ keyid: KEYS.director[1].keyid, sig: '!!!!' });
      expect(rerun(s, m)).toBe('plan');
    });
    it('accepts a valid signature beside an unknown keyid (unknown keyids are ignored)', () => {
      expect(run(scenario({ directiveSigners: [KEYS.attacker, KEYS.director[0]] }))).toBe('plan');
    });

    describe('threshold 2 of 3 directors', () => {
      const root = signRootWith(rootBody({ version: 1, director: { keys: KEYS.director, threshold: 2 } }), KEYS.root);
      it('refuses one director signature', () => {
        expect(run(scenario({ trusted: root, directiveSigners: [KEYS.director[0]] }))).toBe('directive_signature');
      });
      it('refuses one director signature repeated (a keyid counts once)', () => {
        const s = scenario({ trusted: root, directiveSigners: [KEYS.director[0]] });
        const sig = s.message.directive.signatures[0]!;
        expect(rerun(s, { ...s.message, directive: { ...s.message.directive, signatures: [sig, sig, sig] } })).toBe('directive_signature');
      });
      it('refuses one valid signature plus one forged under a second director keyid', () => {
        const s = scenario({ trusted: root, directiveSigners: [KEYS.director[0], { ...KEYS.attacker, keyid: KEYS.director[1].keyid }] });
        expect(run(s)).toBe('directive_signature');
      });
      it('accepts two distinct director signatures', () => {
        expect(run(scenario({ trusted: root, directiveSigners: [KEYS.director[0], KEYS.director[2]] }))).toBe('plan');
      });
      it('accepts a repeated keyid whose first copy is invalid and second is valid', () => {
        const s = scenario({ trusted: root, directiveSigners: [KEYS.director[0], KEYS.director[1]] });
        const [a, b] = s.message.directive.signatures as [{ keyid: string; sig: string }, { keyid: string; sig: string }];
        const broken = { keyid: a.keyid, sig: b.sig };
        expect(rerun(s, { ...s.message, directive: { ...s.message.directive, signatures: [broken, a, b] } })).toBe('plan');
      });
    });
  });

  describe('not_addressed', () => {
    it('refuses a valid directive for another device', () => {
      expect(run(scenario({ directive: { deviceId: 'dev-0002' } }))).toBe('not_addressed');
    });
    it('matches the device id exactly (case matters)', () => {
      expect(run(scenario({ directive: { deviceId: DEVICE.deviceId.toUpperCase() } }))).toBe('not_addressed');
    });
  });

  describe('directive_expired', () => {
    it('refuses a directive whose expiresAt is past', () => {
      expect(run(scenario({ directive: { issuedAt: at(-2 * DAY), expiresAt: at(-1) } }))).toBe('directive_expired');
    });
    it('refuses at exactly expiresAt and accepts one second before', () => {
      const s = scenario({ directive: { expiresAt: at(3600) } });
      expect(run(s, NOW + 3600)).toBe('directive_expired');
      expect(run(s, NOW + 3599)).toBe('plan');
    });
  });

  describe('replayed', () => {
    it('refuses a counter equal to the last accepted one', () => {
      expect(run(scenario({ directive: { counter: DEVICE.counter } }))).toBe('replayed');
    });
    it('refuses a lower counter', () => {
      expect(run(scenario({ directive: { counter: 3 } }))).toBe('replayed');
      expect(run(scenario({ directive: { counter: 0 } }))).toBe('replayed');
    });
    it('refuses the very message it accepted once the device stored its counter', () => {
      const s = scenario();
      const first = check(s.state, s.bytes, backend);
      expect(first.ok).toBe(true);
      const stored = { ...s.state, counter: first.ok ? first.plan.directive.counter : s.state.counter };
      expect(outcome(check(stored, s.bytes, backend))).toBe('replayed');
    });
    it('accepts counter + 1 (boundary) and any larger counter', () => {
      expect(run(scenario({ directive: { counter: DEVICE.counter + 1 } }))).toBe('plan');
      expect(run(scenario({ directive: { counter: DEVICE.counter + 1_000_000 } }))).toBe('plan');
    });
  });

  describe('order of checks (docs/protocol.md#device-checks-in-order)', () => {
    it('signature before address: a forged directive for another device is directive_signature', () => {
      expect(run(scenario({ directiveSigners: [KEYS.attacker], directive: { deviceId: 'dev-0002' } }))).toBe('directive_signature');
    });
    it('address before expiry and replay', () => {
      expect(run(scenario({ directive: { deviceId: 'dev-0002', expiresAt: at(-1), counter: 1 } }))).toBe('not_addressed');
    });
    it('expiry before replay', () => {
      expect(run(scenario({ directive: { expiresAt: at(-1), counter: 1 } }))).toBe('directive_expired');
    });
    it('replay before the release checks', () => {
      expect(run(scenario({ directive: { counter: 1 }, releaseSigners: [KEYS.attacker] }))).toBe('replayed');
    });
  });
});
