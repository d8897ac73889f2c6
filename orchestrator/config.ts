// Orchestrator configuration from the environment, validated once at boot (zod): every bad
// variable is named in one ConfigError (invalid_configuration). It reads no files and opens no
// connections. The only module of orchestrator/ that reads the environment.
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { keyPrefixProblem } from '../state/key-prefix.js';
import { ConfigError } from '../runtime/errors.js';
import { DEFAULT_KEY_PREFIX, DEFAULT_REDIS_URL } from '../state/redis.js';
import { parseRedisUrl } from '../state/redis-url.js';
import { DEFAULT_INTAKE_SHARDS, MAX_INTAKE_SHARDS } from '../state/intake/index.js';

const MiB = 1024 * 1024;

/** Named limits and their safe defaults (STYLE.md: limits are named configuration). */
export const CONFIG_DEFAULTS = {
  httpHost: '127.0.0.1',
  httpPort: 8080,
  dataDir: './.fleet-ota/data',
  maxArtifactBytes: 512 * MiB,
  maxBodyBytes: 1 * MiB,
  maxImportBytes: 64 * MiB,
  importKeyCheck: 'full',
  importKeyWorkers: Math.max(1, Math.min(8, availableParallelism() - 1)),
  reconcileIntervalMs: 60_000,
  reconcilePerSecond: 500,
  /** How often a running orchestrator re-reads Redis' maxmemory-policy (readiness). */
  redisPolicyCheckMs: 10_000,
  intakeMode: 'edge',
  intakeShards: DEFAULT_INTAKE_SHARDS,
} as const;

/** edge: the embedded broker writes the intake shards; bridge: this process subscribes over MQTT and writes them. */
export type IntakeMode = 'edge' | 'bridge';

export type ImportKeyCheck = 'full' | 'decode';

export interface OrchestratorConfig {
  redisUrl: string;
  /** Prefix of every Redis key this deployment owns (tests use a unique one per run). */
  keyPrefix: string;
  httpHost: string;
  /** 0 lets the OS choose (tests). */
  httpPort: number;
  /**
   * GET /metrics on a port of its own, without a token (FLEET_METRICS_PORT; 0 = OS-chosen).
   * Unset: /metrics is served on the API port and needs a read token.
   */
  metricsPort: number | undefined;
  /** Interface of the metrics port (FLEET_METRICS_HOST, default FLEET_HTTP_HOST). */
  metricsHost: string;
  /** Base URL devices use for artifacts: payload.uri = `${publicUrl}/v1/artifacts/<sha256>`. */
  publicUrl: string;
  /** False when publicUrl was derived from host and port (the server fixes it after binding port 0). */
  publicUrlFromEnv: boolean;
  /** Root of the embedded artifact store. */
  dataDir: string;
  maxArtifactBytes: number;
  /** JSON request bodies. */
  maxBodyBytes: number;
  /** Streamed device import bodies (NDJSON / CSV). */
  maxImportBytes: number;
  /**
   * Device key check on bulk import: `full` runs protocol's isPrimeOrderPublicKey (curve
   * point, prime-order subgroup) on every key in worker threads, ~1 ms of CPU per key;
   * `decode` checks only the 32-byte encoding and leaves the curve checks to first use,
   * where every signature verification applies them anyway (protocol/crypto/strict-checks).
   */
  importKeyCheck: ImportKeyCheck;
  importKeyWorkers: number;
  /** How often Redis' maxmemory-policy is re-checked while running (not noeviction: not ready). */
  redisPolicyCheckMs: number;
  /** Bootstrap bearer tokens: stored hashed at boot, never logged. */
  operatorToken: string | undefined;
  readonlyToken: string | undefined;
  /** Director private key file (the rollout engine signs directives with it). */
  directorKeyPath: string | undefined;
  /** Service account of the rollout engine on the broker. */
  brokerUrl: string | undefined;
  brokerUsername: string | undefined;
  brokerSecret: string | undefined;
  /** Periodic sweep that republishes unsettled devices' directives (rollouts/reconciler.ts); 0 = only after a broker reconnect. */
  reconcileIntervalMs: number;
  /** Directives republished or reissued per second by reconciliation, per process. */
  reconcilePerSecond: number;
  /** Who writes status reports into the intake shards (FLEET_INTAKE_MODE, README: Reliability). */
  intakeMode: IntakeMode;
  /** Intake shards (FLEET_INTAKE_SHARDS): the same for every broker and orchestrator of a deployment. */
  intakeShards: number;
}

export { ConfigError };

export interface LoadConfigOptions {
  /**
   * The full orchestrator (rollout engine and ingestion), not the HTTP service alone: it also
   * needs FLEET_BROKER_URL and FLEET_DIRECTOR_KEY, and the broker account's username and secret
   * together or not at all. Their problems join the others in the same ConfigError.
   */
  requireEngine?: boolean;
}

const optionalText = z.string().trim().min(1).optional();
const byteCount = (fallback: number) => z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(fallback);
const httpUrl = z.string().refine((text) => {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}, 'an http(s) URL');

const envSchema = z.object({
  REDIS_URL: z.string().max(2048).refine(isRedisUrl, 'a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL').default(DEFAULT_REDIS_URL),
  FLEET_KEY_PREFIX: z.string().superRefine((prefix, ctx) => {
    const problem = keyPrefixProblem(prefix);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }).default(DEFAULT_KEY_PREFIX),
  FLEET_HTTP_HOST: z.string().min(1).default(CONFIG_DEFAULTS.httpHost),
  FLEET_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(CONFIG_DEFAULTS.httpPort),
  FLEET_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  FLEET_METRICS_HOST: z.string().min(1).optional(),
  FLEET_PUBLIC_URL: httpUrl.optional(),
  FLEET_DATA_DIR: z.string().min(1).default(CONFIG_DEFAULTS.dataDir),
  FLEET_MAX_ARTIFACT_BYTES: byteCount(CONFIG_DEFAULTS.maxArtifactBytes),
  FLEET_MAX_BODY_BYTES: byteCount(CONFIG_DEFAULTS.maxBodyBytes),
  FLEET_MAX_IMPORT_BYTES: byteCount(CONFIG_DEFAULTS.maxImportBytes),
  FLEET_IMPORT_KEY_CHECK: z.enum(['full', 'decode']).default(CONFIG_DEFAULTS.importKeyCheck),
  FLEET_IMPORT_KEY_WORKERS: z.coerce.number().int().min(1).max(64).default(CONFIG_DEFAULTS.importKeyWorkers),
  FLEET_REDIS_POLICY_CHECK_MS: z.coerce.number().int().min(100).max(3_600_000).default(CONFIG_DEFAULTS.redisPolicyCheckMs),
  FLEET_OPERATOR_TOKEN: z.string().min(16, 'at least 16 characters').max(256).optional(),
  FLEET_READONLY_TOKEN: z.string().min(16, 'at least 16 characters').max(256).optional(),
  FLEET_DIRECTOR_KEY: optionalText,
  FLEET_BROKER_URL: z.string().refine((text) => /^(mqtts?|wss?|tcp|tls):\/\//.test(text), 'an mqtt(s)://, ws(s)://, tcp:// or tls:// URL').optional(),
  FLEET_BROKER_USERNAME: optionalText,
  FLEET_BROKER_SECRET: optionalText,
  FLEET_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(0).max(86_400_000).refine((ms) => ms === 0 || ms >= 1_000, '0 (off) or at least 1000').default(CONFIG_DEFAULTS.reconcileIntervalMs),
  FLEET_RECONCILE_PER_SEC: z.coerce.number().int().min(1).max(100_000).default(CONFIG_DEFAULTS.reconcilePerSecond),
  FLEET_INTAKE_MODE: z.enum(['edge', 'bridge']).default(CONFIG_DEFAULTS.intakeMode),
  FLEET_INTAKE_SHARDS: z.coerce.number().int().min(1).max(MAX_INTAKE_SHARDS).default(CONFIG_DEFAULTS.intakeShards),
});

function isRedisUrl(text: string): boolean {
  try {
    parseRedisUrl(text);
    return true;
  } catch {
    return false;
  }
}

/** What the rollout engine cannot start without, each with what to do about it (values never echoed). */
function engineProblems(env: Record<string, string>): string[] {
  const problems: string[] = [];
  if (env.FLEET_BROKER_URL === undefined) problems.push('FLEET_BROKER_URL: not set (the broker directives go through, e.g. mqtt://127.0.0.1:1884)');
  if (env.FLEET_DIRECTOR_KEY === undefined) problems.push('FLEET_DIRECTOR_KEY: not set (path of the director private key file; `fleet-ota keys init` creates one)');
  if ((env.FLEET_BROKER_USERNAME === undefined) !== (env.FLEET_BROKER_SECRET === undefined)) {
    problems.push('FLEET_BROKER_USERNAME / FLEET_BROKER_SECRET: give both (the orchestrator\'s broker service account; `fleet-ota broker account` makes one) or neither');
  }
  return problems;
}

function hostForUrl(host: string): string {
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return shown.includes(':') ? `[${shown}]` : shown;
}

/** Reads and validates the orchestrator's variables; throws ConfigError (invalid_configuration) naming each bad one. */
export function loadOrchestratorConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): OrchestratorConfig {
  // Empty strings count as unset, so `FLEET_PUBLIC_URL= fleet-ota serve` means "default".
  const present = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && entry[1] !== ''));
  const parsed = envSchema.safeParse(present);
  // Never echo values: a token or secret may be the bad variable.
  const problems = parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  if (options.requireEngine) problems.push(...engineProblems(present));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const e = parsed.data;
  if (e.FLEET_OPERATOR_TOKEN !== undefined && e.FLEET_OPERATOR_TOKEN === e.FLEET_READONLY_TOKEN) {
    throw new ConfigError(['FLEET_READONLY_TOKEN: must differ from FLEET_OPERATOR_TOKEN']);
  }
  const publicUrl = (e.FLEET_PUBLIC_URL ?? `http://${hostForUrl(e.FLEET_HTTP_HOST)}:${e.FLEET_HTTP_PORT}`).replace(/\/+$/, '');
  return {
    redisUrl: e.REDIS_URL,
    keyPrefix: e.FLEET_KEY_PREFIX,
    httpHost: e.FLEET_HTTP_HOST,
    httpPort: e.FLEET_HTTP_PORT,
    metricsPort: e.FLEET_METRICS_PORT,
    metricsHost: e.FLEET_METRICS_HOST ?? e.FLEET_HTTP_HOST,
    publicUrl,
    publicUrlFromEnv: e.FLEET_PUBLIC_URL !== undefined,
    dataDir: e.FLEET_DATA_DIR,
    maxArtifactBytes: e.FLEET_MAX_ARTIFACT_BYTES,
    maxBodyBytes: e.FLEET_MAX_BODY_BYTES,
    maxImportBytes: e.FLEET_MAX_IMPORT_BYTES,
    importKeyCheck: e.FLEET_IMPORT_KEY_CHECK,
    importKeyWorkers: e.FLEET_IMPORT_KEY_WORKERS,
    redisPolicyCheckMs: e.FLEET_REDIS_POLICY_CHECK_MS,
    operatorToken: e.FLEET_OPERATOR_TOKEN,
    readonlyToken: e.FLEET_READONLY_TOKEN,
    directorKeyPath: e.FLEET_DIRECTOR_KEY,
    brokerUrl: e.FLEET_BROKER_URL,
    brokerUsername: e.FLEET_BROKER_USERNAME,
    brokerSecret: e.FLEET_BROKER_SECRET,
    reconcileIntervalMs: e.FLEET_RECONCILE_INTERVAL_MS,
    reconcilePerSecond: e.FLEET_RECONCILE_PER_SEC,
    intakeMode: e.FLEET_INTAKE_MODE,
    intakeShards: e.FLEET_INTAKE_SHARDS,
  };
}
