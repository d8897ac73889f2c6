// Key rotation and revocation (docs/protocol.md#root-chain: "Rotating or revoking any key is a new root
// version"): after the chain walk, a rotated-out or revoked key no longer signs anything.
import { describe, expect, it } from 'vitest';
import { nobleEd25519 } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { KEYS, check, outcome, rotationChain, scenario, signRootWith, type Scenario } from '../../fixtures/trust-fixtures.js';

describe.each([nodeEd25519, nobleEd25519])('rotation and revocation ($name)', (backend) => {
  const chain = rotationChain().envelopes;
  const [v1, v2, v3, v4, v5] = chain as [typeof chain[0], typeof chain[0], typeof chain[0], typeof chain[0], typeof chain[0]];
  const run = (s: Scenario) => outcome(check(s.state, s.bytes, backend));

  describe('director key rotated out at v2', () => {
    it('refuses a directive signed by the old director key once the message carries v2', () => {
      expect(run(scenario({ roots: [v2], directiveSigners: [KEYS.director[0]] }))).toBe('directive_signature');
    });
    it('refuses it on a device that already holds v2 (no roots in the message)', () => {
      expect(run(scenario({ trusted: v2, directiveSigners: [KEYS.director[0]] }))).toBe('directive_signature');
    });
    it('accepts the new director key after the walk', () => {
      expect(run(scenario({ roots: [v2], directiveSigners: [KEYS.director[1]] }))).toBe('plan');
    });
    it('refuses the new director key on a device that has not seen v2 (no roots carried)', () => {
      expect(run(scenario({ trusted: v1, directiveSigners: [KEYS.director[1]] }))).toBe('directive_signature');
    });
  });

  describe('release key 1 revoked at v3', () => {
    const directorV2 = { directiveSigners: [KEYS.director[1]] };
    it('refuses a manifest signed by the revoked key after the walk', () => {
      expect(run(scenario({ ...directorV2, roots: [v2, v3], releaseSigners: [KEYS.release[0]] }))).toBe('release_signature');
    });
    it('refuses the revoked key even alongside one valid key (threshold is 2 at v3)', () => {
      expect(run(scenario({ ...directorV2, roots: [v2, v3], releaseSigners: [KEYS.release[0], KEYS.release[1]] }))).toBe('release_signature');
    });
    it('accepts the two remaining release keys', () => {
      expect(run(scenario({ ...directorV2, roots: [v2, v3], releaseSigners: [KEYS.release[1], KEYS.release[2]] }))).toBe('plan');
    });
  });

  describe('root role replaced at v4', () => {
    const current = { directiveSigners: [KEYS.director[1]], releaseSigners: [KEYS.release[1], KEYS.release[2]] };
    it('happy path: v1 walks to v5 and the plan carries v5', () => {
      const s = scenario({ ...current, roots: [v2, v3, v4, v5] });
      const result = check(s.state, s.bytes, backend);
      expect(result.ok && result.plan.root).toEqual(v5.signed);
    });
    it('accepts v5 signed by the new root keys (control for the test below)', () => {
      expect(run(scenario({ ...current, trusted: v4, roots: [v5] }))).toBe('plan');
    });
    it('happy path from a device that already holds v3', () => {
      expect(run(scenario({ ...current, trusted: v3, roots: [v1, v2, v3, v4, v5] }))).toBe('plan');
    });
    it('refuses a v5 signed by the old root keys once v4 replaced them', () => {
      const oldKeysV5 = signRootWith(v5.signed, [KEYS.root[0], KEYS.root[1], KEYS.root[2]]);
      expect(run(scenario({ ...current, trusted: v4, roots: [oldKeysV5] }))).toBe('root_invalid');
    });
  });
});
