// The signature part of the per-device floor (issue 16): what the servers' one sign (the
// directive) and seven verifies (the connect token, six status reports) cost on node:crypto, the
// servers' backend, measured in the same run as the rollout. Key objects are warm, as on the
// servers (both cache them per key), so this is the crypto alone. No I/O.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { round } from './stats.js';

/** The server-side signature work per device in a successful rollout (docs/protocol.md). */
export const SERVER_SIGNATURES_PER_DEVICE = { signs: 1, verifies: 7 } as const;

export interface CryptoFloor {
  signMs: number;
  verifyMs: number;
  /** signs x signMs + verifies x verifyMs. */
  perDeviceMs: number;
  samples: number;
}

/** Times `samples` signs and verifies of report-sized messages with `keys` distinct device keys. */
export function measureCryptoFloor(samples = 4_000, keys = 500, messageBytes = 400): CryptoFloor {
  const secrets = Array.from({ length: keys }, () => new Uint8Array(randomBytes(32)));
  const publics = secrets.map((s) => nodeEd25519.publicKeyOf(s));
  const messages = Array.from({ length: keys }, () => new Uint8Array(randomBytes(messageBytes)));
  const signatures = secrets.map((s, i) => nodeEd25519.sign(s, messages[i]!));
  // Warm-up: JIT and the key-object caches, as on a server that has seen these devices.
  for (let i = 0; i < keys * 2; i++) nodeEd25519.verify(publics[i % keys]!, messages[i % keys]!, signatures[i % keys]!);
  let started = performance.now();
  for (let i = 0; i < samples; i++) nodeEd25519.sign(secrets[i % keys]!, messages[i % keys]!);
  const signMs = (performance.now() - started) / samples;
  started = performance.now();
  let valid = 0;
  for (let i = 0; i < samples; i++) if (nodeEd25519.verify(publics[i % keys]!, messages[i % keys]!, signatures[i % keys]!)) valid++;
  const verifyMs = (performance.now() - started) / samples;
  if (valid !== samples) throw new Error('crypto floor: a valid signature did not verify');
  const perDeviceMs = SERVER_SIGNATURES_PER_DEVICE.signs * signMs + SERVER_SIGNATURES_PER_DEVICE.verifies * verifyMs;
  return { signMs: round(signMs, 4), verifyMs: round(verifyMs, 4), perDeviceMs: round(perDeviceMs, 3), samples };
}
