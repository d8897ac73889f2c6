// Builds and signs per-device directive messages with the online director key (node:crypto
// backend: one signature per device per rollout is the notify hot path). The release and root
// parts are serialized once per slice, the directive once per device.
import {
  buildDirectiveBody,
  canonicalBytes,
  formatWireTime,
  toBase64url,
  utf8,
  LIMITS,
  type Policy,
  type ReleaseEnvelope,
  type RootEnvelope,
  type SigningKey,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';

export interface DirectiveContext {
  rolloutId: string;
  wave: number;
  action: 'install' | 'cancel';
  manifestSha256: string;
  rootVersion: number;
  issuedAt: number;
  ttlSeconds: number;
  policy: Policy;
  release: ReleaseEnvelope;
  /** Roots a device at `fromVersion` needs, oldest first. */
  roots: RootEnvelope[];
}

export class DirectiveSigner {
  constructor(private readonly directorKey: SigningKey) {}

  get keyid(): string {
    return this.directorKey.keyid;
  }

  /** A function signing messages for many devices of one context; JSON shared parts cached. */
  forContext(context: DirectiveContext): (deviceId: string, counter: number, rootsFor?: RootEnvelope[]) => Buffer {
    const releaseJson = JSON.stringify(context.release);
    const defaultRootsJson = JSON.stringify(context.roots);
    const issuedAt = formatWireTime(context.issuedAt);
    const expiresAt = formatWireTime(context.issuedAt + context.ttlSeconds);
    return (deviceId, counter, rootsFor) => {
      const body = buildDirectiveBody({
        deviceId,
        rolloutId: context.rolloutId,
        wave: context.wave,
        action: context.action,
        manifestSha256: context.manifestSha256,
        counter,
        rootVersion: context.rootVersion,
        issuedAt,
        expiresAt,
        policy: context.policy,
      });
      const sig = toBase64url(nodeEd25519.sign(this.directorKey.secretKey, canonicalBytes(body)));
      const directiveJson = JSON.stringify({ signed: body, signatures: [{ keyid: this.directorKey.keyid, sig }] });
      const rootsJson = rootsFor ? JSON.stringify(rootsFor) : defaultRootsJson;
      const message = Buffer.from(utf8(`{"directive":${directiveJson},"release":${releaseJson},"roots":${rootsJson}}`));
      if (message.length > LIMITS.directiveMessageBytes) throw new Error(`directive message for ${deviceId} exceeds 64 KiB`);
      return message;
    };
  }
}
