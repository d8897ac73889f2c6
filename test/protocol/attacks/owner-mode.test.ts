// Attacks on owner mode (docs/protocol.md#owner-mode; issue 20 part 1): a device enrolled to an
// owner key by a root-signed ownership record installs only manifests its owner signed and that
// name it. One test per new reason code, plus the checks of today still holding in owner mode.
import { describe, expect, it } from 'vitest';
import {
  buildOwnershipBody, nobleEd25519, signOwnership,
  type OwnershipEnvelope, type OwnershipSigned, type ReleaseSigned, type SigningKey,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import {
  DAY, DEVICE, KEYS, NOW, at, check, clone, directiveBody, encodeMessage, fixtureKey, outcome, releaseBody, rotationChain,
  scenario, signDirectiveWith, signReleaseWith, type LooseJson, type ScenarioSpec,
} from '../../fixtures/trust-fixtures.js';

const OWNER = fixtureKey('owner alice');
const OTHER_OWNER = fixtureKey('owner bob');
const ROOT_SIGNERS = [KEYS.root[0], KEYS.root[1]];

function ownership(version: number, owner: SigningKey | undefined, overrides: { deviceId?: string; signers?: SigningKey[] } = {}): OwnershipEnvelope {
  const body = buildOwnershipBody({ deviceId: overrides.deviceId ?? DEVICE.deviceId, version, ...(owner ? { ownerPublicKey: owner.publicKey } : {}), issuedAt: at(-DAY) });
  return signOwnership(body, overrides.signers ?? ROOT_SIGNERS, nodeEd25519);
}

/** An owner release naming `devices` (default: this device). */
function ownerRelease(overrides: Partial<Omit<ReleaseSigned, '_type'>> = {}): ReleaseSigned {
  return releaseBody({ devices: [DEVICE.deviceId], ...overrides });
}

interface OwnerSpec extends ScenarioSpec {
  /** The record the device already holds (owner mode), if any. */
  held?: OwnershipSigned;
  /** The record the message carries, if any. */
  offered?: OwnershipEnvelope;
}

function ownerScenario(spec: OwnerSpec) {
  const s = scenario({ release: ownerRelease(), releaseSigners: [OWNER], ...spec, state: { ...(spec.held ? { ownership: spec.held } : {}), ...spec.state } });
  const message = spec.offered ? { ...s.message, ownership: spec.offered } : s.message;
  return { ...s, message, bytes: encodeMessage(message) };
}

describe.each([nodeEd25519, nobleEd25519])('owner mode ($name)', (backend) => {
  const run = (s: { state: Parameters<typeof check>[0]; bytes: Uint8Array }) => outcome(check(s.state, s.bytes, backend, NOW));
  const enrolled = ownership(1, OWNER);

  it('control: enrolment (record v1 in the message) and an owner-signed manifest naming the device', () => {
    const s = ownerScenario({ offered: enrolled });
    const result = check(s.state, s.bytes, backend, NOW);
    expect(result.ok && result.plan.ownership).toEqual(enrolled.signed);
  });

  it('control: an enrolled device needs no record in later messages', () => {
    expect(run(ownerScenario({ held: enrolled.signed }))).toBe('plan');
  });

  describe('ownership_signature', () => {
    it('refuses a record signed below the root threshold (one root key of a 2-of-3 role)', () => {
      expect(run(ownerScenario({ offered: ownership(1, OWNER, { signers: [KEYS.root[0]] }) }))).toBe('ownership_signature');
    });
    it('refuses a record the release or director role signed (only the root delegates ownership)', () => {
      expect(run(ownerScenario({ offered: ownership(1, OWNER, { signers: [KEYS.release[0]] }) }))).toBe('ownership_signature');
      expect(run(ownerScenario({ offered: ownership(1, OWNER, { signers: [KEYS.director[0]] }) }))).toBe('ownership_signature');
    });
    it('refuses a record whose owner key was swapped after signing', () => {
      const forged: LooseJson = clone(enrolled);
      forged.signed.owner.public = ownership(1, KEYS.attacker).signed.owner!.public;
      expect(run(ownerScenario({ offered: forged, releaseSigners: [KEYS.attacker] }))).toBe('ownership_signature');
    });
    it('checks the record under the newest root of the chain: old root keys no longer delegate', () => {
      const { envelopes } = rotationChain();
      // v4 replaced the root role; a record signed by the v1 root keys is refused under it.
      const s = ownerScenario({ roots: envelopes.slice(1, 4), offered: enrolled, directiveSigners: [KEYS.director[1]], directive: { rootVersion: 4 } });
      expect(run(s)).toBe('ownership_signature');
      const byNewRoot = ownership(1, OWNER, { signers: [KEYS.newRoot[0], KEYS.newRoot[1]] });
      expect(run(ownerScenario({ roots: envelopes.slice(1, 4), offered: byNewRoot, directiveSigners: [KEYS.director[1]], directive: { rootVersion: 4 } }))).toBe('plan');
    });
  });

  describe('ownership_not_addressed', () => {
    it("refuses another device's record: an owner key of another device does not enrol this one", () => {
      expect(run(ownerScenario({ offered: ownership(1, OTHER_OWNER, { deviceId: 'dev-0002' }), releaseSigners: [OTHER_OWNER] }))).toBe('ownership_not_addressed');
    });
  });

  describe('ownership_replayed', () => {
    it('refuses a transfer replayed after a later one (v1 to alice, v2 to bob held; v1 replayed)', () => {
      const held = ownership(2, OTHER_OWNER).signed;
      expect(run(ownerScenario({ held, offered: enrolled }))).toBe('ownership_replayed');
    });
    it('refuses an enrolment replayed after a revocation', () => {
      const revoked = ownership(3, undefined).signed;
      expect(run(ownerScenario({ held: revoked, offered: enrolled }))).toBe('ownership_replayed');
    });
    it('an equal version keeps the record held (a redelivery is no transfer)', () => {
      const s = ownerScenario({ held: enrolled.signed, offered: ownership(1, OTHER_OWNER), releaseSigners: [OTHER_OWNER] });
      expect(run(s)).toBe('owner_signature');
    });
  });

  describe('owner_revoked', () => {
    it('refuses an install once the owner key is revoked, even signed by that key', () => {
      expect(run(ownerScenario({ held: enrolled.signed, offered: ownership(2, undefined) }))).toBe('owner_revoked');
      expect(run(ownerScenario({ held: ownership(2, undefined).signed }))).toBe('owner_revoked');
    });
    it('still lets a cancel through (it installs nothing) and a later transfer restores installs', () => {
      expect(run(ownerScenario({ held: ownership(2, undefined).signed, directive: { action: 'cancel' } }))).toBe('plan');
      expect(run(ownerScenario({ held: ownership(2, undefined).signed, offered: ownership(3, OTHER_OWNER), releaseSigners: [OTHER_OWNER] }))).toBe('plan');
    });
  });

  describe('owner_signature', () => {
    it('refuses a vendor-signed manifest on an owner-mode device (vendor keys alone never install there)', () => {
      expect(run(ownerScenario({ held: enrolled.signed, releaseSigners: [KEYS.release[0]] }))).toBe('owner_signature');
    });
    it("refuses a manifest signed by another owner's key (a stolen owner key reaches only that owner's devices)", () => {
      expect(run(ownerScenario({ held: enrolled.signed, releaseSigners: [OTHER_OWNER] }))).toBe('owner_signature');
    });
    it('refuses the previous owner after a transfer', () => {
      expect(run(ownerScenario({ held: enrolled.signed, offered: ownership(2, OTHER_OWNER), releaseSigners: [OWNER] }))).toBe('owner_signature');
      expect(run(ownerScenario({ held: enrolled.signed, offered: ownership(2, OTHER_OWNER), releaseSigners: [OTHER_OWNER] }))).toBe('plan');
    });
  });

  describe('device_not_listed', () => {
    it('refuses an owner manifest naming only other devices', () => {
      expect(run(ownerScenario({ held: enrolled.signed, release: ownerRelease({ devices: ['dev-0002', 'dev-0003'] }) }))).toBe('device_not_listed');
    });
    it('refuses an owner-signed manifest that names no devices', () => {
      expect(run(ownerScenario({ held: enrolled.signed, release: releaseBody() }))).toBe('device_not_listed');
    });
    it('holds in vendor mode too: a vendor manifest naming devices installs on those only', () => {
      expect(run(scenario({ release: releaseBody({ devices: ['dev-0002'] }) }))).toBe('device_not_listed');
      expect(run(scenario({ release: releaseBody({ devices: [DEVICE.deviceId] }) }))).toBe('plan');
    });
  });

  it("a vendor-mode device refuses an owner-signed manifest (the owner key is no release key)", () => {
    expect(run(scenario({ release: ownerRelease(), releaseSigners: [OWNER] }))).toBe('release_signature');
  });

  describe('the checks of today hold in owner mode', () => {
    const held = enrolled.signed;
    it('rollback', () => {
      expect(run(ownerScenario({ held, release: ownerRelease({ sequence: 3 }) }))).toBe('rollback');
    });
    it('replay', () => {
      expect(run(ownerScenario({ held, directive: { counter: DEVICE.counter } }))).toBe('replayed');
    });
    it('freeze: an expired directive or manifest', () => {
      expect(run(ownerScenario({ held, directive: { expiresAt: at(-1) } }))).toBe('directive_expired');
      expect(run(ownerScenario({ held, release: ownerRelease({ expiresAt: at(-1) }) }))).toBe('release_expired');
    });
    it('mix-and-match: the directive names another manifest', () => {
      const s = ownerScenario({ held });
      const m: LooseJson = clone(s.message);
      m.directive = signDirectiveWith(directiveBody(ownerRelease({ sequence: 6 })));
      expect(run({ state: s.state, bytes: encodeMessage(m) })).toBe('digest_mismatch');
    });
    it('the director still signs delivery: an owner cannot bypass the orchestrator', () => {
      expect(run(ownerScenario({ held, directiveSigners: [OWNER] }))).toBe('directive_signature');
    });
    it('wrong target', () => {
      expect(run(ownerScenario({ held, release: ownerRelease({ classId: 'other' }) }))).toBe('wrong_target');
    });
  });

  it('a malformed owner key is bad_schema', () => {
    const bad: LooseJson = clone(enrolled);
    bad.signed.owner.public = 'AAAA';
    expect(run(ownerScenario({ offered: bad }))).toBe('bad_schema');
  });
});

// Keeps the owner release builder honest: it validates like every builder.
it('signReleaseWith an owner key produces a manifest the schema accepts', () => {
  expect(signReleaseWith(ownerRelease(), [OWNER]).signed.devices).toEqual([DEVICE.deviceId]);
});
