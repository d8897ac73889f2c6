// Crafted mixed-order inputs (found by review, not in Wycheproof): a signature whose R, or a key
// whose A, carries a small-order component. The cofactored and cofactorless equations disagree
// on these; both backends must refuse them alike.
import { describe, expect, it } from 'vitest';
import { fromHex, nobleEd25519, utf8 } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';

const message = utf8('fleet-ota mixed-order probe');
const cases = [
  {
    name: 'R = rB + T8',
    publicKey: 'c8620b522bfec9e16a1eea28312a0b1541b7e8c8071b839c358b6693f97ea37a',
    signature: 'eab11ccf863b629804762de88228758e7f1f172de392369f2ad5c8c8011adc12378ba482ae56459db187e5a5c1ae3e923e3a27644656aa6d6aafe0a77775c80b',
  },
  {
    name: 'A + T8',
    publicKey: '1662faad7128c4d2defcf25c689b8674687172edb2a106b78ddd1f179a0217fa',
    signature: '272f271225063db7b5894ae173586c16fec04a97620eb22dfba3965582274ea445c6d26ca7e044367eeb6a151ef1977b2b9460b496418f3835ac29121cd8c80e',
  },
];

describe('mixed-order inputs', () => {
  it.each(cases)('$name is refused by both backends', ({ publicKey, signature }) => {
    const pk = fromHex(publicKey)!;
    const sig = fromHex(signature)!;
    expect(nobleEd25519.verify(pk, message, sig)).toBe(false);
    expect(nodeEd25519.verify(pk, message, sig)).toBe(false);
  });
});

describe('public key policy', () => {
  it('verification accepts a mixed-order key (both backends apply the same equation); registration refuses it', async () => {
    const { isAcceptablePublicKey, isPrimeOrderPublicKey } = await import('../../../protocol/index.js');
    const mixed = fromHex(cases[1]!.publicKey)!;
    expect(isAcceptablePublicKey(mixed)).toBe(true);
    expect(isPrimeOrderPublicKey(mixed)).toBe(false);
    const identity = new Uint8Array(32);
    identity[0] = 1; // the neutral element: small order
    expect(isAcceptablePublicKey(identity)).toBe(false);
    expect(isPrimeOrderPublicKey(identity)).toBe(false);
  });
});
