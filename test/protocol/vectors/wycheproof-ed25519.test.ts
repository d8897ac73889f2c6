// Runs every Wycheproof Ed25519 verification case against both backends and checks that
// the two backends decide every case the same way.
// Data: test/vectors/wycheproof/ed25519_test.json (C2SP/wycheproof testvectors_v1).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nobleEd25519, type Ed25519 } from '../../../protocol/crypto/ed25519.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';

type WycheproofResult = 'valid' | 'invalid' | 'acceptable';

interface WycheproofTest {
  tcId: number;
  comment: string;
  flags: string[];
  msg: string;
  sig: string;
  result: WycheproofResult;
}

interface WycheproofFile {
  algorithm: string;
  schema: string;
  numberOfTests: number;
  testGroups: { type: string; publicKey: { curve: string; pk: string }; tests: WycheproofTest[] }[];
}

const file = JSON.parse(
  readFileSync(new URL('../../vectors/wycheproof/ed25519_test.json', import.meta.url), 'utf8'),
) as WycheproofFile;

const bytes = (hex: string): Uint8Array => new Uint8Array(Buffer.from(hex, 'hex'));

interface Case {
  tcId: number;
  label: string;
  result: WycheproofResult;
  publicKey: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
}

const cases: Case[] = file.testGroups.flatMap((group) =>
  group.tests.map((t) => ({
    tcId: t.tcId,
    label: `tcId ${t.tcId} [${t.result}] ${t.flags.join(',')}${t.comment ? `: ${t.comment}` : ''}`,
    result: t.result,
    publicKey: bytes(group.publicKey.pk),
    message: bytes(t.msg),
    signature: bytes(t.sig),
  })),
);

const backends: Ed25519[] = [nobleEd25519, nodeEd25519];

// What each backend does with Wycheproof's `acceptable` cases (tcId -> verify result).
// This copy of the file has none; if a re-copy brings some, the shape test below fails
// until they are listed here. Both backends must give the same answer for each.
const ACCEPTABLE_BEHAVIOUR: Record<number, boolean> = {};

describe('Wycheproof ed25519_test.json', () => {
  it('has the shape this suite was written for', () => {
    expect(file.algorithm).toBe('EDDSA');
    expect(file.schema).toBe('eddsa_verify_schema_v1.json');
    expect(cases.length).toBe(file.numberOfTests);
    expect(file.testGroups.every((g) => g.type === 'EddsaVerify' && g.publicKey.curve === 'edwards25519')).toBe(true);
    const count = (r: WycheproofResult): number => cases.filter((c) => c.result === r).length;
    expect({ valid: count('valid'), invalid: count('invalid'), acceptable: count('acceptable') }).toEqual({
      valid: 88,
      invalid: 63,
      acceptable: Object.keys(ACCEPTABLE_BEHAVIOUR).length,
    });
  });
});

describe.each(backends)('Wycheproof Ed25519 with the $name backend', (ed) => {
  it.each(cases)('$label', (c) => {
    let verdict: boolean | undefined;
    expect(() => {
      verdict = ed.verify(c.publicKey, c.message, c.signature);
    }).not.toThrow();
    if (c.result === 'valid') expect(verdict).toBe(true);
    else if (c.result === 'invalid') expect(verdict).toBe(false);
    else expect(verdict).toBe(ACCEPTABLE_BEHAVIOUR[c.tcId]);
  });
});

describe('Wycheproof Ed25519: noble and node agree', () => {
  it.each(cases)('$label', (c) => {
    const noble = nobleEd25519.verify(c.publicKey, c.message, c.signature);
    const node = nodeEd25519.verify(c.publicKey, c.message, c.signature);
    expect(node, `noble says ${noble}, node says ${node}`).toBe(noble);
  });
});
