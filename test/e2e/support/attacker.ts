// The attacker of the end-to-end test: a client holding the orchestrator's broker credentials
// (stolen) but not the director key, and the messages it can forge with protocol/'s own
// builders. Also reads the genuine directive a device was sent, as the device receives it,
// so the attacker has something real to replay.
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceKeyOf, type DeviceRecord as SimDeviceRecord } from '../../../device-sim/agent/device-state.js';
import {
  buildConnectToken, buildDirectiveBody, buildReleaseBody, directiveTopic, encodeDirectiveMessage, formatWireTime, manifestDigest,
  sha256Hex, signDirective, signingKeyFromSeed, signRelease, type DirectiveEnvelope, type ReleaseEnvelope, type SigningKey,
} from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';

const CONNECT_TIMEOUT_MS = 10_000;

/** Connects as the device itself (its own key) and returns the retained directive on its topic. */
export async function captureRetainedDirective(brokerUrl: string, record: SimDeviceRecord, timeoutMs: number): Promise<Buffer> {
  const id = record.deviceId;
  const now = Math.floor(Date.now() / 1000);
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: id,
    username: id,
    password: buildConnectToken(id, deviceKeyOf(record, nodeEd25519).secretKey, now, 300, nodeEd25519),
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
  try {
    const retained = new Promise<Buffer>((resolve) => {
      client.on('message', (topic, payload, packet) => {
        if (topic === directiveTopic(id) && packet.retain) resolve(payload);
      });
    });
    await client.subscribeAsync(directiveTopic(id), { qos: 1 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no retained directive for ${id} in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([retained, timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await client.endAsync();
  }
}

/** The stolen service account, under a client id of the attacker's choosing. */
export function connectWithStolenCredentials(brokerUrl: string, account: { username: string; secret: string }): Promise<MqttClient> {
  return mqtt.connectAsync(brokerUrl, {
    clientId: `mallory-${randomBytes(4).toString('hex')}`,
    username: account.username,
    password: account.secret,
    protocolVersion: 4,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: CONNECT_TIMEOUT_MS,
  });
}

/** Publishes `payload` on a device's directive topic as the orchestrator would: QoS 1, retained. */
export async function publishDirectiveAs(client: MqttClient, deviceId: string, payload: Uint8Array): Promise<void> {
  await client.publishAsync(directiveTopic(deviceId), Buffer.from(payload), { qos: 1, retain: true });
}

export interface Forgery {
  key: SigningKey;
  /** A release manifest of the attacker's image, signed by the attacker's key (not a release key). */
  release: ReleaseEnvelope;
}

/** A fresh attacker key and a malicious release for (vendorId, classId) with a high sequence. */
export function forgeRelease(vendorId: string, classId: string, nowSeconds: number): Forgery {
  const key = signingKeyFromSeed(new Uint8Array(randomBytes(32)), nodeEd25519);
  const image = new Uint8Array(randomBytes(512));
  const body = buildReleaseBody({
    releaseId: 'evil-9', version: '9.9.9', sequence: 99, vendorId, classId,
    payload: { sha256: sha256Hex(image), size: image.length, uri: 'http://127.0.0.1:9/evil.bin' },
    createdAt: formatWireTime(nowSeconds),
  });
  return { key, release: signRelease(body, [key], nodeEd25519) };
}

export interface ForgedDirective {
  deviceId: string;
  rolloutId: string;
  counter: number;
  nowSeconds: number;
  release: ReleaseEnvelope;
  /** Who signs the directive; an empty list leaves the signature out. */
  signers: readonly SigningKey[];
}

/** A well-formed directive message for the attacker's release, signed by whatever keys it holds. */
export function forgeDirectiveMessage(input: ForgedDirective): Uint8Array {
  const body = buildDirectiveBody({
    deviceId: input.deviceId, rolloutId: input.rolloutId, wave: 0, action: 'install', manifestSha256: manifestDigest(input.release),
    counter: input.counter, rootVersion: 1, issuedAt: formatWireTime(input.nowSeconds), expiresAt: formatWireTime(input.nowSeconds + 86_400),
    policy: { mode: 'forced' },
  });
  const directive: DirectiveEnvelope = signDirective(body, input.signers, nodeEd25519);
  return encodeDirectiveMessage({ directive, release: input.release, roots: [] });
}
