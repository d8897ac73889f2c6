// Root documents (docs/protocol.md#root-document): publishes a new version after checking it against
// the current one, and serves the chain. Roots are signed offline; this service holds no root key.
import type { RedisClient as Redis } from '../../state/redis.js';
import { parseWireTime, ProtocolError, rootEnvelope, verifyNextRoot, verifyTrustAnchor, type RootEnvelope } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { RootError } from './errors.js';
import { currentRootVersion, publishRootVersion, readRootVersions, rootVersions } from '../../state/releases/index.js';

export interface RootStore {
  current(): Promise<RootEnvelope | undefined>;
  /** Roots newer than `version`, oldest first (a directive message carries them). */
  chainSince(version: number): Promise<RootEnvelope[]>;
  /** Every root, oldest first. */
  list(): Promise<RootEnvelope[]>;
  /**
   * Publishes a root: the first must pass verifyTrustAnchor, later ones verifyNextRoot against
   * the current one (docs/protocol.md#root-chain: N+1 signed by N's root threshold and its own). RootError codes:
   * invalid_root, root_invalid, root_expired, root_conflict (errors.ts).
   */
  publish(envelope: unknown): Promise<RootEnvelope>;
}

export function createRootStore(redis: Redis, prefix: string, now: () => Date = () => new Date()): RootStore {
  // Published roots never change: parsed envelopes are cached by version.
  const parsed = new Map<number, RootEnvelope>();
  const load = async (versions: number[]): Promise<RootEnvelope[]> => {
    const missing = versions.filter((v) => !parsed.has(v));
    if (missing.length > 0) {
      const texts = await readRootVersions(redis, prefix, missing);
      missing.forEach((v, i) => {
        const text = texts[i];
        if (text) parsed.set(v, JSON.parse(text) as RootEnvelope);
      });
    }
    return versions.flatMap((v) => (parsed.has(v) ? [parsed.get(v)!] : []));
  };
  const currentVersion = (): Promise<number> => currentRootVersion(redis, prefix);
  const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

  const current = async (): Promise<RootEnvelope | undefined> => {
    const version = await currentVersion();
    if (version === 0) return undefined;
    return (await load([version]))[0];
  };

  return {
    current,
    async chainSince(version) {
      return load(range(Math.max(version + 1, 1), await currentVersion()));
    },
    async list() {
      const versions = await rootVersions(redis, prefix);
      return load(versions);
    },
    async publish(input) {
      const shape = rootEnvelope.safeParse(input);
      if (!shape.success) {
        const issue = shape.error.issues[0];
        throw new RootError('invalid_root', `not a root envelope${issue ? `: ${issue.path.join('.')}: ${issue.message}` : ''}`);
      }
      const envelope = input as RootEnvelope;
      const trusted = await current();
      try {
        if (trusted) verifyNextRoot(trusted.signed, envelope, nodeEd25519);
        else verifyTrustAnchor(envelope, nodeEd25519);
      } catch (error) {
        if (error instanceof ProtocolError) {
          if (trusted && envelope.signed.version <= trusted.signed.version) {
            throw new RootError('root_conflict', `root version ${envelope.signed.version} is not newer than the current ${trusted.signed.version}`);
          }
          throw new RootError(error.code === 'root_expired' ? 'root_expired' : 'root_invalid', error.message);
        }
        throw error;
      }
      // A root that is already expired would make every device refuse (root_expired).
      const expiresAt = parseWireTime(envelope.signed.expiresAt);
      if (expiresAt === undefined || expiresAt * 1000 <= now().getTime()) {
        throw new RootError('root_expired', `root ${envelope.signed.version} expired at ${envelope.signed.expiresAt}`);
      }
      const stored = await publishRootVersion(redis, prefix, trusted ? trusted.signed.version : 0, envelope.signed.version, JSON.stringify(envelope));
      if (!stored) throw new RootError('root_conflict', 'another root was published meanwhile; retry against the new current root');
      parsed.set(envelope.signed.version, envelope);
      return envelope;
    },
  };
}
