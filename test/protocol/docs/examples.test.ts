// docs/protocol.md#worked-examples holds examples built by protocol/'s builders; this rebuilds
// them (fixed seeds, fixed `now`) and checks the page byte for byte, so they never drift, and
// checks that each one verifies the way the page says.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkDirectiveMessage, keyIdOf, nobleEd25519, parseConnectToken, utf8, verifyStatusReport } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { EXAMPLE_KEYS, EXAMPLE_NOW, blocksIn, buildProtocolExamples, exampleBlock } from './examples.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');
const examples = buildProtocolExamples();

describe('docs/protocol.md worked examples', () => {
  it.each([...examples.blocks])('holds the %s example exactly as the builders make it', (name, text) => {
    expect(doc).toContain(exampleBlock(name, text));
  });

  it('has no example block the builders do not make', () => {
    expect([...blocksIn(doc).keys()].sort()).toEqual([...examples.blocks.keys()].sort());
  });

  it('builds the same bytes on a second run (no clock, no randomness)', () => {
    expect(buildProtocolExamples().blocks).toEqual(examples.blocks);
  });

  it.each([nobleEd25519, nodeEd25519])('the directive message is accepted at `now` by the device the page describes ($name)', (backend) => {
    const result = checkDirectiveMessage(examples.deviceState, examples.directiveMessage, EXAMPLE_NOW, backend);
    expect(result).toMatchObject({ ok: true, plan: { action: 'install', alreadyInstalled: false } });
  });

  it('the status report verifies under the device key, and the token parses and verifies', () => {
    expect(verifyStatusReport(examples.statusReport, 'dev-0001', EXAMPLE_KEYS.device.publicKey, nodeEd25519).ok).toBe(true);
    expect(doc).toContain(keyIdOf(EXAMPLE_KEYS.device.publicKey));
    const parsed = parseConnectToken(examples.connectToken);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.claims).toEqual({ sub: 'dev-0001', aud: 'fleet-ota', iat: EXAMPLE_NOW, exp: EXAMPLE_NOW + 3600 });
    expect(nobleEd25519.verify(EXAMPLE_KEYS.device.publicKey, utf8(parsed.signingInput), parsed.signature)).toBe(true);
  });
});
