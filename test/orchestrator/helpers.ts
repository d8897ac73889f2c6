// Shared set-up for orchestrator tests: a unique Redis key prefix per run (deleted by SCAN+DEL
// afterwards), a temp data dir, an app with operator and read tokens, and signed fixtures
// built with protocol/'s builders.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { RedisClient as Redis } from '../../state/redis.js';
import {
  buildReleaseBody,
  buildRootBody,
  encodePublicKey,
  formatWireTime,
  sha256,
  signingKeyFromSeed,
  signRelease,
  signRoot,
  utf8,
  type ReleaseEnvelope,
  type ReleaseSigned,
  type RootEnvelope,
  type SigningKey,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { createToken } from '../../orchestrator/auth/tokens.js';
import { loadOrchestratorConfig, type OrchestratorConfig } from '../../orchestrator/config.js';
import { buildApp, type BuildAppOptions } from '../../orchestrator/http/app.js';
import { createRedis } from '../../state/redis.js';
import { countKeysWithPrefix, deleteKeysWithPrefix } from '../../state/redis.js';

export function testPrefix(area: string): string {
  return `test:${area}:${randomBytes(6).toString('hex')}:`;
}

/** Deletes every key under `prefix` (never FLUSHDB: other suites share this Redis). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  await deleteKeysWithPrefix(redis, prefix);
}

export const countPrefix = countKeysWithPrefix;

export interface TestApp {
  app: FastifyInstance;
  redis: Redis;
  prefix: string;
  config: OrchestratorConfig;
  dataDir: string;
  operator: string;
  read: string;
  close(): Promise<void>;
}

export async function startTestApp(area: string, env: Record<string, string> = {}, options: BuildAppOptions = {}): Promise<TestApp> {
  const prefix = testPrefix(area);
  const dataDir = await mkdtemp(join(tmpdir(), 'fleet-ota-test-'));
  const config = loadOrchestratorConfig({ FLEET_KEY_PREFIX: prefix, FLEET_DATA_DIR: dataDir, FLEET_PUBLIC_URL: 'http://fleet.test:8080', ...env });
  const redis = createRedis(config.redisUrl);
  const app = await buildApp({ redis, prefix, config }, options);
  await app.services.artifacts.init();
  const operator = (await createToken(redis, prefix, 'operator', { label: 'test operator' })).token;
  const read = (await createToken(redis, prefix, 'read', { label: 'test reader' })).token;
  return {
    app, redis, prefix, config, dataDir, operator, read,
    async close() {
      await app.close();
      await deletePrefix(redis, prefix);
      await redis.quit();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

export const auth = (token: string) => ({ authorization: `Bearer ${token}` });

/** A key from a label: the same on every run. */
export function fixtureKey(label: string): SigningKey {
  return signingKeyFromSeed(sha256(utf8(`fleet-ota orchestrator test key: ${label}`)), nodeEd25519);
}

/** A fresh random device key (tests of bulk import need distinct keys). */
export function randomDeviceKey(): string {
  return encodePublicKey(nodeEd25519.publicKeyOf(new Uint8Array(randomBytes(32))));
}

export const KEYS = {
  root: [fixtureKey('root-1'), fixtureKey('root-2'), fixtureKey('root-3')],
  release: [fixtureKey('release-1'), fixtureKey('release-2'), fixtureKey('release-3')],
  director: [fixtureKey('director-1')],
  outsider: fixtureKey('outsider'),
};

export const inOneYear = () => formatWireTime(Date.now() / 1000 + 365 * 86_400);

/** Root v`version`: root keys 1-3 (2 of 3), release keys 1-3 with `releaseThreshold`, director key 1. */
export function rootEnvelope(version: number, options: { releaseThreshold?: number; signers?: SigningKey[]; releaseKeys?: SigningKey[]; expiresAt?: string } = {}): RootEnvelope {
  const releaseKeys = options.releaseKeys ?? KEYS.release;
  const body = buildRootBody({
    version,
    expiresAt: options.expiresAt ?? inOneYear(),
    roles: {
      root: { publicKeys: KEYS.root.map((k) => k.publicKey), threshold: 2 },
      release: { publicKeys: releaseKeys.map((k) => k.publicKey), threshold: options.releaseThreshold ?? 2 },
      director: { publicKeys: KEYS.director.map((k) => k.publicKey), threshold: 1 },
    },
  });
  return signRoot(body, options.signers ?? KEYS.root.slice(0, 2), nodeEd25519);
}

export function releaseEnvelope(fields: Partial<Omit<ReleaseSigned, '_type'>> & { payload: ReleaseSigned['payload'] }, signers: SigningKey[] = KEYS.release.slice(0, 2)): ReleaseEnvelope {
  const body = buildReleaseBody({
    releaseId: 'fw-1.0.0',
    version: '1.0.0',
    sequence: 1,
    vendorId: 'acme',
    classId: 'gw-2',
    createdAt: formatWireTime(Date.now() / 1000),
    ...fields,
  });
  return signRelease(body, signers, nodeEd25519);
}
