// What a device gets when every check passes (docs/protocol.md#device-checks-in-order): an install plan, an
// already-installed plan (docs/protocol.md#device-checks-in-order: equal sequence is `succeeded` without download) or a
// cancel plan, which the sequence rules do not guard.
import { describe, expect, it } from 'vitest';
import { manifestDigest, nobleEd25519 } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { DEVICE, ROOT_V1, check, outcome, releaseBody, scenario } from '../../fixtures/trust-fixtures.js';

describe.each([nodeEd25519, nobleEd25519])('plans ($name)', (backend) => {
  it('an install plan carries the verified directive, release, digest and root', () => {
    const release = releaseBody();
    const s = scenario({ release });
    const result = check(s.state, s.bytes, backend);
    expect(result).toEqual({
      ok: true,
      plan: {
        action: 'install',
        directive: s.message.directive.signed,
        release,
        manifestSha256: manifestDigest(release),
        root: ROOT_V1.signed,
        alreadyInstalled: false,
      },
    });
  });

  it('an equal sequence is alreadyInstalled (report succeeded without download)', () => {
    const s = scenario({ release: releaseBody({ sequence: DEVICE.sequence }) });
    const result = check(s.state, s.bytes, backend);
    expect(result.ok && result.plan.action).toBe('install');
    expect(result.ok && result.plan.alreadyInstalled).toBe(true);
  });

  it('an equal sequence is alreadyInstalled even when its minSequence is above it', () => {
    const s = scenario({ release: releaseBody({ sequence: DEVICE.sequence, minSequence: DEVICE.sequence + 1 }) });
    const result = check(s.state, s.bytes, backend);
    expect(result.ok && result.plan.alreadyInstalled).toBe(true);
  });

  describe('cancel', () => {
    it('a cancel naming an older release is a cancel plan, not rollback', () => {
      const s = scenario({ release: releaseBody({ sequence: 1 }), directive: { action: 'cancel' } });
      const result = check(s.state, s.bytes, backend);
      expect(outcome(result)).toBe('plan');
      expect(result.ok && result.plan.action).toBe('cancel');
      expect(result.ok && result.plan.alreadyInstalled).toBe(false);
    });
    it('a cancel below minSequence is still a cancel plan', () => {
      const s = scenario({ release: releaseBody({ sequence: 9, minSequence: 8 }), directive: { action: 'cancel' } });
      const result = check(s.state, s.bytes, backend);
      expect(result.ok && result.plan.action).toBe('cancel');
    });
    it('a cancel is still subject to replay protection', () => {
      const s = scenario({ directive: { action: 'cancel', counter: DEVICE.counter } });
      expect(outcome(check(s.state, s.bytes, backend))).toBe('replayed');
    });
  });

  it('is deterministic: the same bytes give the same answer on both backends', () => {
    const s = scenario();
    expect(check(s.state, s.bytes, backend)).toEqual(check(s.state, s.bytes, backend === nodeEd25519 ? nobleEd25519 : nodeEd25519));
  });
});
