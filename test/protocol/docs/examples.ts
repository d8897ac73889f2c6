// The worked examples of docs/protocol.md#worked-examples, built by protocol/'s own builders
// from fixed seeds at a fixed time, so they are byte-for-byte reproducible. examples.test.ts
// holds the document to them; write-examples.ts rewrites the document's blocks after a change.
import {
  buildConnectToken,
  buildDirectiveBody,
  buildReleaseBody,
  buildOwnershipBody,
  buildRootBody,
  signOwnership,
  buildStatusBody,
  canonicalJson,
  encodeDirectiveMessage,
  encodeStatusReport,
  formatWireTime,
  fromBase64url,
  fromUtf8,
  manifestDigest,
  nobleEd25519,
  parseWireTime,
  sha256,
  signDirective,
  signingKeyFromSeed,
  signRelease,
  signRoot,
  utf8,
  type DeviceTrustState,
  type SigningKey,
} from '../../../protocol/index.js';

/** The fixed "now" of every example (passed in; nothing reads the clock). */
export const EXAMPLE_NOW_TEXT = '2026-12-01T12:00:00Z';
export const EXAMPLE_NOW = parseWireTime(EXAMPLE_NOW_TEXT)!;
const DAY = 86_400;
const at = (offsetSeconds: number) => formatWireTime(EXAMPLE_NOW + offsetSeconds);

/** Noble: the portable backend a device port mirrors; node-crypto signs the same bytes. */
const ed25519 = nobleEd25519;

/** A key whose seed is SHA-256 of a label: the same key on every run. Never use these in production. */
export function exampleKey(label: string): SigningKey {
  return signingKeyFromSeed(sha256(utf8(`fleet-ota docs example key: ${label}`)), ed25519);
}

export const EXAMPLE_KEYS = {
  root: exampleKey('root'),
  release: exampleKey('release'),
  director: exampleKey('director'),
  device: exampleKey('device dev-0001'),
  owner: exampleKey('owner of dev-0001'),
};

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

export interface ProtocolExamples {
  /** name → the text of the example's fenced block. */
  readonly blocks: ReadonlyMap<string, string>;
  /** The device state the directive message example verifies against at EXAMPLE_NOW. */
  readonly deviceState: DeviceTrustState;
  readonly directiveMessage: Uint8Array;
  readonly statusReport: Uint8Array;
  readonly connectToken: string;
}

export function buildProtocolExamples(): ProtocolExamples {
  const k = EXAMPLE_KEYS;
  const rootBody = buildRootBody({
    version: 1,
    expiresAt: at(365 * DAY),
    roles: {
      root: { publicKeys: [k.root.publicKey], threshold: 1 },
      release: { publicKeys: [k.release.publicKey], threshold: 1 },
      director: { publicKeys: [k.director.publicKey], threshold: 1 },
    },
  });
  const root = signRoot(rootBody, [k.root], ed25519);

  const releaseBody = buildReleaseBody({
    releaseId: 'fw-2.4.0',
    version: '2.4.0',
    sequence: 42,
    vendorId: 'acme',
    classId: 'gw-1',
    payload: { sha256: 'b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c', size: 1048576, uri: 'https://updates.example.com/artifacts/fw-2.4.0.bin' },
    minSequence: 40,
    createdAt: at(-DAY),
    expiresAt: at(90 * DAY),
  });
  const release = signRelease(releaseBody, [k.release], ed25519);
  const digest = manifestDigest(release);

  const directiveBody = buildDirectiveBody({
    deviceId: 'dev-0001',
    rolloutId: 'r-2026-12-01',
    wave: 0,
    action: 'install',
    manifestSha256: digest,
    counter: 7,
    rootVersion: 1,
    issuedAt: at(0),
    expiresAt: at(7 * DAY),
    policy: { mode: 'auto', window: { start: '22:00', end: '04:00' } },
  });
  const directive = signDirective(directiveBody, [k.director], ed25519);
  const message = { directive, release, roots: [] };
  const directiveMessage = encodeDirectiveMessage(message);

  const statusBody = buildStatusBody({
    deviceId: 'dev-0001',
    rolloutId: 'r-2026-12-01',
    counter: 7,
    seq: 12,
    // The device's storage was initialised a month before `now`.
    epoch: EXAMPLE_NOW - 30 * DAY,
    state: 'downloading',
    progress: 40,
    installed: { releaseId: 'fw-2.3.1', sequence: 41 },
    rootVersion: 1,
    at: at(60),
  });
  const statusReport = encodeStatusReport(statusBody, k.device, ed25519);

  // docs/protocol.md#owner-mode: dev-0001 enrolled to its owner's key, signed by the root key.
  const ownership = signOwnership(buildOwnershipBody({ deviceId: 'dev-0001', version: 1, ownerPublicKey: k.owner.publicKey, issuedAt: at(-DAY) }), [k.root], ed25519);

  const connectToken = buildConnectToken('dev-0001', k.device.secretKey, EXAMPLE_NOW, 3600, ed25519);
  const [header, claims] = connectToken.split('.').map((part) => fromUtf8(fromBase64url(part)!)) as [string, string];

  const blocks = new Map<string, string>([
    ['root', pretty(root)],
    ['release', pretty(release)],
    ['release-canonical', `${canonicalJson(release.signed)}\n\nmanifestSha256 = ${digest}`],
    ['directive', pretty(directive)],
    ['status', fromUtf8(statusReport)!],
    ['token', `header  ${header}\nclaims  ${claims}\ntoken   ${connectToken}`],
    ['ownership', pretty(ownership)],
  ]);
  const deviceState: DeviceTrustState = { root: rootBody, deviceId: 'dev-0001', counter: 6, sequence: 41, vendorId: 'acme', classId: 'gw-1' };
  return { blocks, deviceState, directiveMessage, statusReport, connectToken };
}

/** The exact text of one example block as it stands in docs/protocol.md. */
export function exampleBlock(name: string, text: string): string {
  const fence = name === 'token' || name === 'release-canonical' ? '```text' : '```json';
  return `<!-- example: ${name} -->\n${fence}\n${text}\n\`\`\`\n<!-- /example -->`;
}

/** Every example block in `markdown`, by name. */
export function blocksIn(markdown: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const m of markdown.matchAll(/<!-- example: ([a-z-]+) -->\n[\s\S]*?\n<!-- \/example -->/g)) found.set(m[1]!, m[0]);
  return found;
}
