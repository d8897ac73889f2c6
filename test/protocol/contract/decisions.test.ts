// Issue 21 points 3-15: what device ports had to guess, decided and written in
// docs/protocol.md. One describe per point; each asserts the written rule against fleet-ota
// (protocol/ and the reference agent), with messages made by the project's builders.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  buildStatusBody,
  clipDetail,
  codePointLength,
  decidePolicy,
  encodeStatusReport,
  hasDuplicateMembers,
  isAcceptablePublicKey,
  nobleEd25519,
  parseConnectToken,
  parseStatusReport,
  rootEnvelope,
  toBase64url,
  utf8,
  verifyStatusReport,
  verifyTrustAnchor,
  type Policy,
  type StatusSigned,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { DEFAULT_LIMITS } from '../../../broker/config/broker-config.js';
import { DEFAULT_MQTT_TRANSPORT } from '../../../device-sim/agent/mqtt-transport.js';
import { DEFAULT_AGENT_CONFIG } from '../../../device-sim/agent/config.js';
import { FACTORY_RELEASE } from '../../../device-sim/agent/device-state.js';
import { classifyDirective } from '../../../device-sim/agent/classify-directive.js';
import {
  DAY, KEYS, NOW, at, check, clone, deviceState, encodeMessage, outcome, releaseBody, rootBody,
  rotationChain, scenario, signRaw, signRootWith, type LooseJson,
} from '../../fixtures/trust-fixtures.js';

const doc = readFileSync(fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url)), 'utf8');
/** docs/protocol.md with line breaks folded, so a rule can be found whatever the wrapping. */
const docText = doc.replace(/\s+/g, ' ');
const backends = [nodeEd25519, nobleEd25519];

describe('point 3: a directive above the newest root the chain reaches is root_invalid', () => {
  it('refuses a directive signed under root 2 when the message carries no root 2', () => {
    const chain = rotationChain().envelopes;
    // Under root 2 the director is director-2; without root 2 the device only knows director-1,
    // so sign with director-1 to reach the rootVersion check itself.
    const s = scenario({ directive: { rootVersion: 2 }, roots: [] });
    for (const backend of backends) expect(outcome(check(s.state, s.bytes, backend))).toBe('root_invalid');
    const full = scenario({ directive: { rootVersion: 2 }, directiveSigners: [KEYS.director[1]], roots: [chain[1]!] });
    for (const backend of backends) expect(outcome(check(full.state, full.bytes, backend))).toBe('plan');
    expect(docText).toContain('directive `rootVersion` ≤ the newest root\'s version (the chain was not truncated) | `root_invalid`');
  });
});

describe('point 4: a root listing a key under a keyid that is not its hash is refused whole', () => {
  const mislabel = (body: ReturnType<typeof rootBody>) => {
    // Swap the entries of two keyids: every key is listed, each under the other's name.
    const [a, b] = Object.keys(body.keys) as [string, string];
    const keys = { ...body.keys, [a]: body.keys[b]!, [b]: body.keys[a]! };
    return { ...body, keys };
  };
  it('refuses root 2 (properly signed by both thresholds) with root_invalid', () => {
    const v2 = signRootWith(mislabel(rootBody({ version: 2 })), [KEYS.root[0], KEYS.root[1]]);
    const s = scenario({ roots: [v2] });
    for (const backend of backends) expect(outcome(check(s.state, s.bytes, backend))).toBe('root_invalid');
  });
  it('refuses such a trust anchor too', () => {
    const v1 = signRaw(mislabel(rootBody({ version: 1 })), [KEYS.root[0], KEYS.root[1]]);
    expect(rootEnvelope.safeParse(v1).success).toBe(true);
    expect(() => verifyTrustAnchor(v1, nodeEd25519)).toThrow(expect.objectContaining({ code: 'root_invalid' }));
    expect(docText).toContain('is refused **whole**, with `root_invalid`');
  });
});

describe('point 5: a cancel is checked like an install but skips the sequence rules', () => {
  it('skips rollback, already-installed and minSequence', () => {
    for (const sequence of [2, 4]) {
      const s = scenario({ release: releaseBody({ sequence, minSequence: sequence === 2 ? 3 : undefined }), directive: { action: 'cancel' } });
      const result = check(s.state, s.bytes);
      expect(result).toMatchObject({ ok: true, plan: { action: 'cancel', alreadyInstalled: false } });
    }
  });
  it('still checks the release signature, expiry, digest and target', () => {
    const cancel = { action: 'cancel' as const };
    expect(outcome(check(scenario({ directive: cancel, releaseSigners: [KEYS.attacker] }).state, scenario({ directive: cancel, releaseSigners: [KEYS.attacker] }).bytes))).toBe('release_signature');
    const expired = scenario({ release: releaseBody({ expiresAt: at(0) }), directive: cancel });
    expect(outcome(check(expired.state, expired.bytes))).toBe('release_expired');
    const mixed = scenario({ directive: { ...cancel, manifestSha256: '0'.repeat(64) } });
    expect(outcome(check(mixed.state, mixed.bytes))).toBe('digest_mismatch');
    const other = scenario({ release: releaseBody({ classId: 'gw-9' }), directive: cancel });
    expect(outcome(check(other.state, other.bytes))).toBe('wrong_target');
    expect(docText).toContain('**skips** check 10');
  });
});

describe('point 6: numbers are checked on the wire text', () => {
  it.each(['-0', '6.0', '6e0', '1E1'])('a counter written %s is bad_schema', (literal) => {
    const s = scenario();
    const text = new TextDecoder().decode(s.bytes).replace('"counter":11', `"counter":${literal}`);
    expect(text).not.toBe(new TextDecoder().decode(s.bytes));
    expect(outcome(check(s.state, utf8(text)))).toBe('bad_schema');
  });
  it('the same holds for status reports', () => {
    const text = new TextDecoder().decode(encodeStatusReport(status(), KEYS.device, nodeEd25519)).replace('"seq":3', '"seq":3.0');
    expect(parseStatusReport(utf8(text))).toEqual({ ok: false, refusal: 'bad_schema' });
  });
});

describe('point 7: receivers refuse what the schema does not name', () => {
  const base = scenario();
  const mutate = (edit: (m: LooseJson) => void) => {
    const m = clone(base.message) as LooseJson;
    edit(m);
    return outcome(check(base.state, encodeMessage(m)));
  };
  it.each<[string, (m: LooseJson) => void]>([
    ['an unknown member', (m) => { m.directive.signed.extra = 1; }],
    ['missing roots', (m) => { delete m.roots; }],
    ['null roots', (m) => { m.roots = null; }],
    ['17 signatures', (m) => { m.release.signatures = Array.from({ length: 17 }, () => m.release.signatures[0]); }],
    ['a malformed time', (m) => { m.directive.signed.expiresAt = '2026-02-30T00:00:00Z'; }],
    ['a malformed version', (m) => { m.release.signed.version = '1.02.0'; }],
    ['a malformed URI', (m) => { m.release.signed.payload.uri = 'ftp://example.test/x'; }],
    ['a malformed window', (m) => { m.directive.signed.policy.window = { start: '24:00', end: '01:00' }; }],
    ['another spec version', (m) => { m.roots = [clone(rotationChain().envelopes[1])]; m.roots[0].signed.specVersion = 2; }],
  ])('%s is bad_schema', (_what, edit) => {
    expect(mutate(edit)).toBe('bad_schema');
  });
});

describe('point 8: duplicate JSON members are refused', () => {
  it('finds duplicates after decoding escapes, at any depth, and not across objects', () => {
    expect(hasDuplicateMembers('{"a":1,"a":2}')).toBe(true);
    expect(hasDuplicateMembers('{"a":1,"\\u0061":2}')).toBe(true);
    expect(hasDuplicateMembers('{"x":[{"a":1},{"a":2}],"y":{"a":{"a":1}}}')).toBe(false);
    expect(hasDuplicateMembers('{"x":{"b":"a","a":1,"b":2}}')).toBe(true);
    expect(hasDuplicateMembers('{"s":"\\"a\\":","a":1}')).toBe(false);
  });
  it('a directive message naming a signed member twice is bad_schema (JSON.parse would keep the last)', () => {
    const s = scenario();
    const text = new TextDecoder().decode(s.bytes).replace('"counter":11', '"counter":10,"counter":11');
    expect(outcome(check(s.state, utf8(text)))).toBe('bad_schema');
  });
  it('a status report and a connect token with a repeated member are refused', () => {
    const text = new TextDecoder().decode(encodeStatusReport(status(), KEYS.device, nodeEd25519)).replace('"seq":3', '"seq":3,"seq":3');
    expect(parseStatusReport(utf8(text))).toEqual({ ok: false, refusal: 'bad_schema' });
    const header = toBase64url(utf8('{"alg":"EdDSA","typ":"JWT"}'));
    const claims = toBase64url(utf8('{"sub":"dev-0001","aud":"fleet-ota","iat":1,"exp":2,"exp":9}'));
    const input = `${header}.${claims}`;
    const token = `${input}.${toBase64url(nodeEd25519.sign(KEYS.device.secretKey, utf8(input)))}`;
    expect(parseConnectToken(token)).toEqual({ ok: false, error: 'claims' });
    expect(docText).toContain('is refused `bad_schema`; nothing "wins"');
  });
});

describe('point 9: key validity and the verification equation', () => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  it('refuses S >= L (S + L of a valid signature), on both backends', () => {
    const message = utf8('point 9');
    const sig = nodeEd25519.sign(KEYS.device.secretKey, message);
    let s = 0n;
    for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i]!);
    const high = new Uint8Array(sig);
    let t = s + L;
    for (let i = 32; i < 64; i++) { high[i] = Number(t & 0xffn); t >>= 8n; }
    for (const backend of backends) {
      expect(backend.verify(KEYS.device.publicKey, message, sig)).toBe(true);
      expect(backend.verify(KEYS.device.publicKey, message, high)).toBe(false);
    }
  });
  it('refuses small-order public keys (the identity point)', () => {
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(isAcceptablePublicKey(identity)).toBe(false);
  });
  it('threshold 0 is invalid', () => {
    const body = { ...rootBody({ version: 2 }) } as LooseJson;
    body.roles = clone(body.roles);
    body.roles.director.threshold = 0;
    const s = scenario({ roots: [signRaw(body, [KEYS.root[0], KEYS.root[1]]) as LooseJson] });
    expect(outcome(check(s.state, s.bytes))).toBe('bad_schema');
    expect(docText).toContain('The equation is the **cofactorless** one');
  });
});

describe('point 10: installed = sequence < minSequence is already installed', () => {
  it('reports succeeded without download rather than needs_intermediate', () => {
    const s = scenario({ release: releaseBody({ sequence: 4, minSequence: 5 }) });
    expect(check(s.state, s.bytes)).toMatchObject({ ok: true, plan: { alreadyInstalled: true } });
    const below = scenario({ release: releaseBody({ sequence: 6, minSequence: 5 }) });
    expect(outcome(check(below.state, below.bytes))).toBe('needs_intermediate');
    expect(docText).toContain('equality is checked first, so the device **reports `succeeded` without download**');
  });
});

describe('point 11: now == expiresAt is expired', () => {
  it('for a directive, a release and the newest root', () => {
    const directive = scenario({ directive: { expiresAt: at(0) } });
    expect(outcome(check(directive.state, directive.bytes))).toBe('directive_expired');
    expect(outcome(check(directive.state, directive.bytes, nodeEd25519, NOW - 1))).toBe('plan');
    const release = scenario({ release: releaseBody({ expiresAt: at(0) }) });
    expect(outcome(check(release.state, release.bytes))).toBe('release_expired');
    const root = scenario({ trusted: rootBody({ version: 1, expiresAt: at(0) }) });
    expect(outcome(check(root.state, root.bytes))).toBe('root_expired');
    expect(docText).toContain('at the instant `now == expiresAt` a root, a directive or a release is already expired');
  });
});

describe('point 12: what a refused or repeated directive leads to', () => {
  const record = (counter: number) => ({
    root: deviceState().root, deviceId: 'dev-0001', counter, vendorId: 'acme', classId: 'gw-2',
    installed: { releaseId: 'x', sequence: 4 }, lastRejected: null,
  }) as unknown as Parameters<typeof classifyDirective>[0];
  it('reports a refusal under the unverified rolloutId and counter', () => {
    const forged = scenario({ directiveSigners: [KEYS.attacker] });
    expect(classifyDirective(record(10), forged.bytes, NOW, nodeEd25519)).toMatchObject({ kind: 'reject', rolloutId: 'rollout-1', counter: 11, reason: 'directive_signature' });
  });
  it('only counts a refusal it cannot name (no readable directive.signed)', () => {
    expect(classifyDirective(record(10), utf8('{"directive":1}'), NOW, nodeEd25519)).toMatchObject({ kind: 'ignore', why: 'unreportable', reason: 'bad_schema' });
  });
  it('ignores its current directive redelivered; reports an older counter replayed', () => {
    const s = scenario();
    expect(classifyDirective(record(11), s.bytes, NOW, nodeEd25519)).toMatchObject({ kind: 'ignore', why: 'duplicate' });
    expect(classifyDirective(record(12), s.bytes, NOW, nodeEd25519)).toMatchObject({ kind: 'reject', reason: 'replayed' });
  });
  it('reports the same refusal once, and a refused counter is not stored', () => {
    const forged = scenario({ directiveSigners: [KEYS.attacker] });
    const rejected = { ...record(10), lastRejected: { rolloutId: 'rollout-1', counter: 11 } } as typeof record extends (n: number) => infer R ? R : never;
    expect(classifyDirective(rejected, forged.bytes, NOW, nodeEd25519)).toMatchObject({ kind: 'ignore', why: 'repeated' });
    // The genuine directive with the same counter is still accepted: the refusal stored nothing.
    expect(classifyDirective(rejected, scenario().bytes, NOW, nodeEd25519)).toMatchObject({ kind: 'accept' });
    expect(docText).toContain('A refused directive\'s counter is **not** stored');
  });
});

describe('point 13: detail is at most 256 code points; installed before the first install', () => {
  it('counts code points, not UTF-16 units', () => {
    const emoji = '\u{1F680}'.repeat(LIMITS.statusDetailChars);
    expect(emoji.length).toBe(2 * LIMITS.statusDetailChars);
    expect(codePointLength(emoji)).toBe(LIMITS.statusDetailChars);
    const ok = encodeStatusReport(status({ state: 'failed', reason: 'install_failed', progress: undefined, detail: emoji }), KEYS.device, nodeEd25519);
    expect(verifyStatusReport(ok, 'dev-0001', KEYS.device.publicKey, nodeEd25519).ok).toBe(true);
    expect(() => buildStatusBody({ ...status({ state: 'failed', reason: 'install_failed', progress: undefined }), detail: `${emoji}x` })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_BODY' }));
  });
  it('clips on a code point boundary', () => {
    const clipped = clipDetail(`a${'\u{1F680}'.repeat(300)}`);
    expect(codePointLength(clipped)).toBe(LIMITS.statusDetailChars);
    expect(clipped.endsWith('\u{1F680}')).toBe(true);
  });
  it('the reference agent reports the factory image before its first install', () => {
    expect(FACTORY_RELEASE).toEqual({ releaseId: 'factory', sequence: 0 });
    expect(docText).toContain('`{ "releaseId": "factory", "sequence": 0 }`');
    expect(docText).toContain('at most **256 Unicode code points**');
  });
});

describe('point 14: policy semantics', () => {
  // 12:00 UTC on the fixture day.
  const noon = Math.floor(NOW / DAY) * DAY + 12 * 3600;
  const closed = { start: '13:00', end: '14:00' };
  const decide = (policy: Policy, now = noon, consent?: 'granted' | 'declined') => decidePolicy(policy, now, consent);
  it('auto follows the window; start == end is always open; end is exclusive', () => {
    expect(decide({ mode: 'auto', window: closed })).toBe('defer');
    expect(decide({ mode: 'auto', window: { start: '12:00', end: '12:00' } })).toBe('proceed');
    expect(decide({ mode: 'auto', window: { start: '11:00', end: '12:00' } })).toBe('defer');
    expect(decide({ mode: 'auto', window: { start: '23:00', end: '12:01' } })).toBe('proceed');
  });
  it('optional needs consent; deadline does not force it', () => {
    expect(decide({ mode: 'optional', deadline: formatAt(noon - 60) })).toBe('defer');
    expect(decide({ mode: 'optional' }, noon, 'declined')).toBe('decline');
    expect(decide({ mode: 'optional' }, noon, 'granted')).toBe('proceed');
  });
  it('forced ignores consent, respects the window until the deadline, then proceeds', () => {
    expect(decide({ mode: 'forced', window: closed }, noon, 'declined')).toBe('defer');
    expect(decide({ mode: 'forced', window: closed, deadline: formatAt(noon) }, noon, 'declined')).toBe('proceed');
    expect(decide({ mode: 'forced', window: closed, deadline: formatAt(noon + 1) })).toBe('defer');
    expect(docText).toContain('**`start == end` means always open**');
    expect(docText).toContain('the device reports `deferred` **once**');
  });
});

describe('point 15: transport as written', () => {
  it('states the code\'s MQTT settings and publish limits', () => {
    expect(DEFAULT_MQTT_TRANSPORT.keepaliveSeconds).toBe(60);
    expect(docText).toContain(`the reference agent uses ${DEFAULT_MQTT_TRANSPORT.keepaliveSeconds} s`);
    expect(docText).toContain(`at most **${DEFAULT_LIMITS.publishesPerClientPerSec} publishes per second** per device, with a burst of ${DEFAULT_LIMITS.publishesPerClientPerSec}`);
    expect(docText).toContain(`longer than **${DEFAULT_LIMITS.publishThrottleMaxDelayMs / 1000} s**`);
    expect(docText).toContain(`progress moved by ${DEFAULT_AGENT_CONFIG.progressStepPercent} % or ${DEFAULT_AGENT_CONFIG.progressIntervalSeconds} s passed`);
    expect(docText).toContain('**MQTT 3.1.1** (protocol level 4)');
    expect(docText).toContain('**Clean session**');
  });
  it('the reference agent\'s pacing fits the limit: a whole download stays inside the burst plus 5 s of rate', () => {
    const reports = Math.ceil(100 / DEFAULT_AGENT_CONFIG.progressStepPercent) + 1;
    expect(reports).toBeLessThanOrEqual(DEFAULT_LIMITS.publishesPerClientPerSec * (1 + DEFAULT_LIMITS.publishThrottleMaxDelayMs / 1000));
    // Every 1 % in a burst does not: 101 reports exceed the burst plus 5 s of rate.
    expect(101).toBeGreaterThan(DEFAULT_LIMITS.publishesPerClientPerSec * (1 + DEFAULT_LIMITS.publishThrottleMaxDelayMs / 1000));
  });
});

describe('the reason-code table and limits are the code\'s', () => {
  it('names every limit value', () => {
    expect(docText).toContain(`at most **${LIMITS.signaturesPerEnvelope}** signatures`);
    expect(docText).toContain(`at most ${LIMITS.rootsPerMessage} roots per message`);
    expect(docText).toContain(`at most ${LIMITS.keysPerRoot} keys`);
    expect(LIMITS.directiveMessageBytes).toBe(64 * 1024);
    expect(LIMITS.statusReportBytes).toBe(4 * 1024);
  });
});

function status(overrides: Partial<StatusSigned> = {}): StatusSigned {
  return buildStatusBody({
    deviceId: 'dev-0001', rolloutId: 'rollout-1', counter: 11, seq: 3, state: 'downloading', progress: 10,
    installed: { releaseId: 'gw2-fw-4', sequence: 4 }, rootVersion: 1, at: at(0), ...overrides,
  });
}

function formatAt(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
