// The directive wire message has one definition: protocol's encodeDirectiveMessage. The signer
// keeps its string concatenation because it is the notify hot path (release and roots are
// serialized once per slice, not once per device); this property holds it byte-identical to
// the encoder for random directives, releases and roots.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { DirectiveSigner, type DirectiveContext } from '../../../orchestrator/rollouts/directive-signer.js';
import {
  buildDirectiveBody,
  buildReleaseBody,
  buildRootBody,
  DEVICE_ID,
  encodeDirectiveMessage,
  formatWireTime,
  manifestDigest,
  NAME_ID,
  sha256,
  sha256Hex,
  signDirective,
  signingKeyFromSeed,
  signRelease,
  signRoot,
  utf8,
  type Policy,
  type RootEnvelope,
} from '../../../protocol/index.js';

const key = (label: string) => signingKeyFromSeed(sha256(utf8(`fleet-ota directive signer test: ${label}`)), nodeEd25519);
const director = key('director');
const releaseKey = key('release');
const rootKey = key('root');

// Wire times from 2001 to 2100, whole seconds.
const epoch = fc.integer({ min: 1_000_000_000, max: 4_100_000_000 });
const hhmm = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`);
const policy: fc.Arbitrary<Policy> = fc.record(
  { mode: fc.constantFrom('auto', 'optional', 'forced'), deadline: epoch.map(formatWireTime), window: fc.record({ start: hhmm, end: hhmm }) },
  { requiredKeys: ['mode'] },
);

function root(version: number): RootEnvelope {
  const body = buildRootBody({
    version,
    expiresAt: formatWireTime(4_000_000_000),
    roles: { root: { publicKeys: [rootKey.publicKey], threshold: 1 }, release: { publicKeys: [releaseKey.publicKey], threshold: 1 }, director: { publicKeys: [director.publicKey], threshold: 1 } },
  });
  return signRoot(body, [rootKey], nodeEd25519);
}

describe('DirectiveSigner', () => {
  it('produces the bytes of protocol encodeDirectiveMessage', () => {
    fc.assert(
      fc.property(
        fc.record({
          deviceId: fc.stringMatching(DEVICE_ID),
          rolloutId: fc.stringMatching(NAME_ID),
          releaseId: fc.stringMatching(NAME_ID),
          wave: fc.nat({ max: 1000 }),
          action: fc.constantFrom('install' as const, 'cancel' as const),
          counter: fc.nat(),
          sequence: fc.nat(),
          issuedAt: epoch,
          ttlSeconds: fc.integer({ min: 1, max: 30 * 86_400 }),
          policy,
          roots: fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 2 }),
          rootsFor: fc.option(fc.array(fc.integer({ min: 1, max: 50 }), { maxLength: 2 }), { nil: undefined }),
        }),
        (c) => {
          const release = signRelease(buildReleaseBody({
            releaseId: c.releaseId, version: '1.0.0', sequence: c.sequence, vendorId: 'acme', classId: 'gw',
            payload: { sha256: sha256Hex(utf8(c.releaseId)), size: 4, uri: `https://artifacts.example.test/${c.releaseId}` }, createdAt: formatWireTime(c.issuedAt),
          }), [releaseKey], nodeEd25519);
          const context: DirectiveContext = {
            rolloutId: c.rolloutId, wave: c.wave, action: c.action, manifestSha256: manifestDigest(release), rootVersion: 1,
            issuedAt: c.issuedAt, ttlSeconds: c.ttlSeconds, policy: c.policy, release, roots: c.roots.map(root),
          };
          const rootsFor = c.rootsFor?.map(root);
          const signed = new DirectiveSigner(director).forContext(context)(c.deviceId, c.counter, rootsFor);
          const directive = signDirective(buildDirectiveBody({
            deviceId: c.deviceId, rolloutId: c.rolloutId, wave: c.wave, action: c.action, manifestSha256: context.manifestSha256, counter: c.counter,
            rootVersion: 1, issuedAt: formatWireTime(c.issuedAt), expiresAt: formatWireTime(c.issuedAt + c.ttlSeconds), policy: c.policy,
          }), [director], nodeEd25519);
          const encoded = encodeDirectiveMessage({ directive, release, roots: rootsFor ?? context.roots });
          expect(Buffer.from(encoded).equals(signed)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });
});
