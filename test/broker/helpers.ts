// Shared fixtures for the broker tests: a unique Redis prefix per file, devices provisioned
// straight into the registry hashes, real MQTT.js clients, and cleanup by prefix (SCAN + DEL).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { buildConnectToken, encodePublicKey, type SigningKey } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { encodeDeviceRecord, registryKeys } from '../../state/device-record.js';
import { generateSigningKey } from '../../orchestrator/keys/key-file.js';
import { silentLogger } from '../../runtime/logger.js';
import { brokerConfig, hashServiceSecret, startBroker, type BrokerConfig, type BrokerLimits, type RunningBroker } from '../../broker/index.js';
import { deleteKeysWithPrefix } from '../../state/redis.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function testPrefix(area: string): string {
  return `test:broker:${area}:${randomBytes(4).toString('hex')}:`;
}

export function uniqueId(base: string): string {
  return `${base}-${randomBytes(3).toString('hex')}`;
}

export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
  await deleteKeysWithPrefix(redis, prefix);
}

export interface TestDevice {
  id: string;
  key: SigningKey;
  token(nowSeconds?: number, lifetimeSeconds?: number): string;
}

export async function provisionDevice(redis: Redis, prefix: string, id: string, options: { revoked?: boolean; key?: SigningKey } = {}): Promise<TestDevice> {
  const key = options.key ?? generateSigningKey();
  await redis.hset(
    registryKeys(prefix).device(id),
    encodeDeviceRecord({
      id,
      publicKey: encodePublicKey(key.publicKey),
      vendorId: 'acme',
      classId: 'sensor',
      groups: [],
      tags: [],
      revoked: options.revoked ?? false,
      createdAt: '2026-01-01T00:00:00Z',
    }),
  );
  return {
    id,
    key,
    token: (nowSeconds = Math.floor(Date.now() / 1000), lifetimeSeconds = 3600) => buildConnectToken(id, key.secretKey, nowSeconds, lifetimeSeconds, nodeEd25519),
  };
}

export const ORCHESTRATOR_SECRET = randomBytes(32).toString('base64url');
export const DASHBOARD_SECRET = randomBytes(32).toString('base64url');

export function testBrokerConfig(prefix: string, overrides: Partial<Omit<BrokerConfig, 'limits'>> & { limits?: Partial<BrokerLimits> } = {}): BrokerConfig {
  return brokerConfig({
    port: 0,
    redisUrl: REDIS_URL,
    keyPrefix: prefix,
    serviceAccounts: [
      { username: 'orchestrator', secretSha256: hashServiceSecret(ORCHESTRATOR_SECRET), role: 'orchestrator' },
      { username: 'dashboard', secretSha256: hashServiceSecret(DASHBOARD_SECRET), role: 'dashboard' },
    ],
    ...overrides,
    // Every test client comes from 127.0.0.1: the per-address limit is tested on its own.
    limits: { connectsPerIpPerSec: 0, ...overrides.limits },
  });
}

export async function startTestBroker(prefix: string, overrides: Parameters<typeof testBrokerConfig>[1] = {}, now?: () => number): Promise<RunningBroker> {
  return startBroker(testBrokerConfig(prefix, overrides), { logger: silentLogger(), ...(now ? { now } : {}) });
}

export type ConnectResult = { ok: true; client: MqttClient } | { ok: false; code: number | undefined; error: Error };

/** One CONNECT, no reconnects: the client, or the CONNACK refusal code. */
export function tryConnect(url: string, options: IClientOptions): Promise<ConnectResult> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 4, ...options });
    const onError = (error: Error & { code?: number }) => {
      client.end(true);
      resolve({ ok: false, code: typeof error.code === 'number' ? error.code : undefined, error });
    };
    client.once('error', onError);
    client.once('close', () => onError(Object.assign(new Error('closed before CONNACK'), { code: undefined })));
    client.once('connect', () => {
      client.removeAllListeners('error');
      client.removeAllListeners('close');
      client.on('error', () => undefined);
      resolve({ ok: true, client });
    });
  });
}

export async function connectOrThrow(url: string, options: IClientOptions): Promise<MqttClient> {
  const result = await tryConnect(url, options);
  if (!result.ok) throw new Error(`connect refused: ${result.code} ${result.error.message}`);
  return result.client;
}

export function connectDevice(url: string, device: TestDevice, options: IClientOptions = {}): Promise<MqttClient> {
  return connectOrThrow(url, { clientId: device.id, username: device.id, password: device.token(), ...options });
}

export function connectService(url: string, username: 'orchestrator' | 'dashboard', options: IClientOptions = {}): Promise<MqttClient> {
  return connectOrThrow(url, {
    clientId: uniqueId(`svc-${username}`),
    username,
    password: username === 'orchestrator' ? ORCHESTRATOR_SECRET : DASHBOARD_SECRET,
    ...options,
  });
}

export async function endAll(...clients: (MqttClient | undefined)[]): Promise<void> {
  await Promise.all(clients.map((client) => (client ? client.endAsync(true).catch(() => undefined) : undefined)));
}

/** Collects messages on a client, for assertions with waitFor. */
export function collect(client: MqttClient): { topic: string; payload: string; retain: boolean }[] {
  const messages: { topic: string; payload: string; retain: boolean }[] = [];
  client.on('message', (topic, payload, packet) => messages.push({ topic, payload: payload.toString(), retain: packet.retain }));
  return messages;
}

export async function waitFor(condition: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function closedPromise(client: MqttClient): Promise<void> {
  return new Promise((resolve) => client.once('close', () => resolve()));
}

/** A compact JWS with any header and claims, signed by `secretKey` (for hostile-token cases). */
export function customToken(header: Record<string, unknown>, claims: Record<string, unknown>, secretKey: Uint8Array): string {
  const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signingInput = `${encode(header)}.${encode(claims)}`;
  const signature = Buffer.from(nodeEd25519.sign(secretKey, new TextEncoder().encode(signingInput))).toString('base64url');
  return `${signingInput}.${signature}`;
}

/** Minimal MQTT 3.1.1 encoders for tests that must hold a packet flow half-way (MQTT.js won't). */
function remainingLength(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}
function utf8Field(text: string | Buffer): Buffer {
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}
export function rawConnect(clientId: string, username: string, password: string, clean = true): Buffer {
  const flags = 0x80 | 0x40 | (clean ? 0x02 : 0);
  const body = Buffer.concat([utf8Field('MQTT'), Buffer.from([4, flags, 0, 60]), utf8Field(clientId), utf8Field(username), utf8Field(password)]);
  return Buffer.concat([Buffer.from([0x10, ...remainingLength(body.length)]), body]);
}
export function rawPublish(topic: string, payload: string, qos: 0 | 1 | 2, messageId: number, dup = false): Buffer {
  const id = qos > 0 ? Buffer.from([messageId >> 8, messageId & 0xff]) : Buffer.alloc(0);
  const body = Buffer.concat([utf8Field(topic), id, Buffer.from(payload)]);
  return Buffer.concat([Buffer.from([0x30 | (dup ? 0x08 : 0) | (qos << 1), ...remainingLength(body.length)]), body]);
}
