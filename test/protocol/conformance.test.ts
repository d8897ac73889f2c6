// ../shared/conformance: vectors from an independent implementation of docs/protocol.md. Every case
// must be reproduced exactly, with both Ed25519 backends.
import { describe, expect, it } from 'vitest';
import { checkDirectiveMessage, nobleEd25519, parseWireTime, type RootSigned } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { loadConformance } from '../support/conformance.js';

interface DirectiveCase {
  name: string;
  why: string;
  now: string;
  state: { root: { signed: RootSigned }; deviceId: string; counter: number; sequence: number; vendorId: string; classId: string };
  message: string;
  expect: { ok: true; alreadyInstalled: boolean } | { reason: string };
}

const vectors = loadConformance<{ cases: DirectiveCase[] }>('directive-vectors.json');

describe.each([nobleEd25519, nodeEd25519])('directive conformance vectors ($name)', (ed25519) => {
  it('has cases', () => expect(vectors.cases.length).toBeGreaterThan(30));
  it.each(vectors.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { root, ...rest } = c.state;
    const result = checkDirectiveMessage({ ...rest, root: root.signed }, Buffer.from(c.message, 'base64'), parseWireTime(c.now)!, ed25519);
    const actual = result.ok ? { ok: true, alreadyInstalled: result.plan.alreadyInstalled } : { reason: result.reason };
    expect(actual, c.why).toEqual(c.expect);
  });
});
