// Loads the broker configuration from environment variables and/or a JSON file, validated with
// zod at start. Precedence: defaults < file < environment. Every bad value becomes one message
// naming its variable (or file field); all of them are thrown together as one ConfigError (invalid_configuration).
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../../runtime/errors.js';
import { DEFAULT_CONFIG, DEFAULT_LIMITS, type BrokerConfig, type BrokerLimits, type ServiceAccount } from './broker-config.js';
import { keyPrefixProblem } from '../../state/key-prefix.js';
import { parseRedisUrl, redactRedisUrl } from '../../state/redis-url.js';
import { MAX_INTAKE_SHARDS } from '../../state/intake/index.js';

type Source = { value: unknown; where: string; baseDir: string };

const MiB = 1024 * 1024;

function integer(min: number, max: number) {
  return z.preprocess(
    (v) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v),
    z.number().int().min(min).max(max),
  );
}

const LIMIT_FIELDS: Record<keyof BrokerLimits, { env: string; min: number; max: number }> = {
  maxConnections: { env: 'FLEET_BROKER_MAX_CONNECTIONS', min: 1, max: 1_000_000 },
  connectsPerIpPerSec: { env: 'FLEET_BROKER_CONNECTS_PER_IP_PER_SEC', min: 0, max: 1_000_000 },
  publishesPerClientPerSec: { env: 'FLEET_BROKER_PUBLISHES_PER_CLIENT_PER_SEC', min: 0, max: 1_000_000 },
  publishThrottleMaxDelayMs: { env: 'FLEET_BROKER_PUBLISH_THROTTLE_MAX_DELAY_MS', min: 0, max: 60_000 },
  reconnectsPerClientPerMin: { env: 'FLEET_BROKER_RECONNECTS_PER_CLIENT_PER_MIN', min: 0, max: 100_000 },
  clientLimitsMaxTracked: { env: 'FLEET_BROKER_CLIENT_LIMITS_MAX_TRACKED', min: 1, max: 10_000_000 },
  maxTokenLifetimeS: { env: 'FLEET_BROKER_MAX_TOKEN_LIFETIME_S', min: 60, max: 30 * 86_400 },
  maxDirectiveBytes: { env: 'FLEET_BROKER_MAX_DIRECTIVE_BYTES', min: 256, max: MiB },
  maxStatusBytes: { env: 'FLEET_BROKER_MAX_STATUS_BYTES', min: 256, max: 64 * 1024 },
  maxPreAuthPacketBytes: { env: 'FLEET_BROKER_MAX_PREAUTH_PACKET_BYTES', min: 1024, max: 64 * 1024 },
  connectTimeoutMs: { env: 'FLEET_BROKER_CONNECT_TIMEOUT_MS', min: 100, max: 120_000 },
  keyCacheMax: { env: 'FLEET_BROKER_KEY_CACHE_MAX', min: 1, max: 10_000_000 },
  keyCacheTtlS: { env: 'FLEET_BROKER_KEY_CACHE_TTL_S', min: 0, max: 3_600 },
  keyCacheNegativeTtlS: { env: 'FLEET_BROKER_KEY_CACHE_NEGATIVE_TTL_S', min: 0, max: 3_600 },
  registryTimeoutMs: { env: 'FLEET_BROKER_REGISTRY_TIMEOUT_MS', min: 100, max: 60_000 },
  sessionReplayMax: { env: 'FLEET_BROKER_SESSION_REPLAY_MAX', min: 1, max: 10_000_000 },
  nodeLeaseMs: { env: 'FLEET_BROKER_NODE_LEASE_MS', min: 500, max: 600_000 },
};

/** Environment variables the broker reads, for docs and `--help`. */
export const BROKER_ENV = {
  host: 'FLEET_BROKER_HOST',
  port: 'FLEET_BROKER_PORT',
  redisUrl: 'REDIS_URL',
  keyPrefix: 'FLEET_KEY_PREFIX',
  serviceAccounts: 'FLEET_BROKER_SERVICE_ACCOUNTS',
  serviceAccountsFile: 'FLEET_BROKER_SERVICE_ACCOUNTS_FILE',
  tlsKey: 'FLEET_BROKER_TLS_KEY',
  tlsCert: 'FLEET_BROKER_TLS_CERT',
  cluster: 'FLEET_BROKER_CLUSTER',
  persistence: 'FLEET_BROKER_PERSISTENCE',
  brokerId: 'FLEET_BROKER_ID',
  metricsPort: 'FLEET_BROKER_METRICS_PORT',
  metricsHost: 'FLEET_BROKER_METRICS_HOST',
  intakeMode: 'FLEET_INTAKE_MODE',
  intakeShards: 'FLEET_INTAKE_SHARDS',
  ...Object.fromEntries(Object.entries(LIMIT_FIELDS).map(([k, v]) => [k, v.env])),
} as const;

const hostSchema = z.string().min(1).max(255).regex(/^[^\s/]+$/);
const portSchema = integer(0, 65_535);
const redisUrlSchema = z.string().max(2048).refine((text) => {
  try {
    parseRedisUrl(text);
    return true;
  } catch {
    return false;
  }
});
const brokerIdSchema = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/);
const clusterSchema = z.enum(['none', 'redis']);
const persistenceSchema = z.enum(['redis', 'memory']);
const intakeModeSchema = z.enum(['edge', 'bridge']);
const serviceAccountSchema = z.strictObject({
  username: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'username: 1-64 characters of [A-Za-z0-9._-]'),
  secretSha256: z.string().regex(/^[0-9a-f]{64}$/, 'secretSha256: 64 lowercase hex characters (sha256 of the secret)'),
  role: z.enum(['orchestrator', 'dashboard'], 'role: "orchestrator" or "dashboard"'),
});
const serviceAccountsSchema = z
  .array(serviceAccountSchema)
  .max(1000)
  .refine((list) => new Set(list.map((a) => a.username)).size === list.length, 'usernames must be unique');

const FILE_KEYS = new Set([
  'host', 'port', 'redisUrl', 'keyPrefix', 'serviceAccounts', 'serviceAccountsFile', 'limits', 'tls',
  'cluster', 'persistence', 'brokerId', 'metricsPort', 'metricsHost', 'intakeMode', 'intakeShards',
]);

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

class Collector {
  readonly issues: string[] = [];
  check<T>(source: Source | undefined, schema: z.ZodType<T>, expected: string, fallback: T): T {
    if (source === undefined) return fallback;
    const result = schema.safeParse(source.value);
    if (result.success) return result.data;
    this.issues.push(`${source.where}: expected ${expected}, got ${show(source.value)}`);
    return fallback;
  }
}

/** REDIS_URL may hold a password: an error names the URL redacted. */
function checkRedisUrl(source: Source | undefined, issues: string[]): string {
  if (source === undefined) return DEFAULT_CONFIG.redisUrl;
  if (redisUrlSchema.safeParse(source.value).success) return source.value as string;
  const shown = typeof source.value === 'string' ? redactRedisUrl(source.value) : show(source.value);
  issues.push(`${source.where}: expected a redis://, rediss://, redis+cluster:// or rediss+cluster:// URL, got ${JSON.stringify(shown)}`);
  return DEFAULT_CONFIG.redisUrl;
}

/** The prefix rule says why (state/key-prefix.ts): a `{tag}` would put every key in one cluster slot. */
function checkKeyPrefix(source: Source | undefined, issues: string[]): string {
  if (source === undefined) return DEFAULT_CONFIG.keyPrefix;
  const problem = typeof source.value === 'string' ? keyPrefixProblem(source.value) : 'a string';
  if (problem === undefined) return source.value as string;
  issues.push(`${source.where}: expected ${problem}, got ${show(source.value)}`);
  return DEFAULT_CONFIG.keyPrefix;
}

function readJsonFile(path: string, where: string, issues: string[]): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    issues.push(`${where}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    issues.push(`${where}: ${path} is not valid JSON`);
    return undefined;
  }
}

function readableFile(path: string, where: string, issues: string[]): string {
  try {
    accessSync(path, constants.R_OK);
  } catch (error) {
    issues.push(`${where}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return path;
}

/**
 * Reads the broker configuration. `file` is a JSON object with the BrokerConfig field names
 * (`limits` and `tls` nested; relative paths resolve against the file's folder).
 * Throws ConfigError (code invalid_configuration) listing every bad value.
 */
export function loadBrokerConfig(env: NodeJS.ProcessEnv = process.env, file?: string): BrokerConfig {
  const issues: string[] = [];
  const c = new Collector();
  let fileObject: Record<string, unknown> = {};
  let fileDir = process.cwd();
  if (file !== undefined) {
    const parsed = readJsonFile(file, 'config file', issues);
    fileDir = dirname(resolve(file));
    if (parsed !== undefined) {
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) issues.push(`${file}: expected a JSON object`);
      else {
        fileObject = parsed as Record<string, unknown>;
        for (const key of Object.keys(fileObject)) if (!FILE_KEYS.has(key)) issues.push(`${file}: unknown field "${key}"`);
      }
    }
  }

  const fromEnv = (name: string): Source | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : { value: value.trim(), where: name, baseDir: process.cwd() };
  };
  const fromFile = (value: unknown, field: string): Source | undefined =>
    value === undefined ? undefined : { value, where: `${file}: ${field}`, baseDir: fileDir };
  const pick = (envName: string, fileValue: unknown, field: string) => fromEnv(envName) ?? fromFile(fileValue, field);

  const host = c.check(pick(BROKER_ENV.host, fileObject.host, 'host'), hostSchema, 'a host name or address', DEFAULT_CONFIG.host);
  const port = c.check(pick(BROKER_ENV.port, fileObject.port, 'port'), portSchema, 'an integer port from 0 to 65535', DEFAULT_CONFIG.port);
  const redisUrl = checkRedisUrl(pick(BROKER_ENV.redisUrl, fileObject.redisUrl, 'redisUrl'), c.issues);
  const keyPrefix = checkKeyPrefix(pick(BROKER_ENV.keyPrefix, fileObject.keyPrefix, 'keyPrefix'), c.issues);
  const cluster = c.check(pick(BROKER_ENV.cluster, fileObject.cluster, 'cluster'), clusterSchema, '"none" or "redis"', DEFAULT_CONFIG.cluster);
  const persistence = c.check(pick(BROKER_ENV.persistence, fileObject.persistence, 'persistence'), persistenceSchema, '"redis" or "memory"', DEFAULT_CONFIG.persistence);
  const intakeMode = c.check(pick(BROKER_ENV.intakeMode, fileObject.intakeMode, 'intakeMode'), intakeModeSchema, '"edge" or "bridge"', DEFAULT_CONFIG.intakeMode);
  const intakeShards = c.check(pick(BROKER_ENV.intakeShards, fileObject.intakeShards, 'intakeShards'), integer(1, MAX_INTAKE_SHARDS), `an integer from 1 to ${MAX_INTAKE_SHARDS}`, DEFAULT_CONFIG.intakeShards);
  const brokerIdSource = pick(BROKER_ENV.brokerId, fileObject.brokerId, 'brokerId');
  const brokerId = c.check(brokerIdSource, brokerIdSchema.optional(), '1-64 characters of [A-Za-z0-9._-]', undefined);
  const metricsPort = c.check(pick(BROKER_ENV.metricsPort, fileObject.metricsPort, 'metricsPort'), portSchema.optional(), 'an integer port from 0 to 65535', undefined);
  const metricsHost = c.check(pick(BROKER_ENV.metricsHost, fileObject.metricsHost, 'metricsHost'), hostSchema.optional(), 'a host name or address', undefined);

  // Limits: each from its own variable, else the file's `limits` object, else the default.
  const fileLimits = fileObject.limits;
  let limitsObject: Record<string, unknown> = {};
  if (fileLimits !== undefined) {
    if (typeof fileLimits !== 'object' || fileLimits === null || Array.isArray(fileLimits)) issues.push(`${file}: limits: expected an object`);
    else {
      limitsObject = fileLimits as Record<string, unknown>;
      for (const key of Object.keys(limitsObject)) if (!(key in LIMIT_FIELDS)) issues.push(`${file}: limits: unknown field "${key}"`);
    }
  }
  const limits = { ...DEFAULT_LIMITS };
  for (const [name, spec] of Object.entries(LIMIT_FIELDS) as [keyof BrokerLimits, (typeof LIMIT_FIELDS)[keyof BrokerLimits]][]) {
    limits[name] = c.check(pick(spec.env, limitsObject[name], `limits.${name}`), integer(spec.min, spec.max), `an integer from ${spec.min} to ${spec.max}`, DEFAULT_LIMITS[name]);
  }

  // Service accounts: inline JSON or a file, from the environment or the config file; one source only.
  const serviceAccounts = loadServiceAccounts(env, fileObject, file, fileDir, issues);

  // TLS: both paths or neither.
  const fileTls = (fileObject.tls ?? {}) as Record<string, unknown>;
  const keySource = pick(BROKER_ENV.tlsKey, fileTls.keyFile, 'tls.keyFile');
  const certSource = pick(BROKER_ENV.tlsCert, fileTls.certFile, 'tls.certFile');
  let tls: BrokerConfig['tls'];
  if (keySource !== undefined || certSource !== undefined) {
    if (keySource === undefined || certSource === undefined) {
      issues.push(`${BROKER_ENV.tlsKey} and ${BROKER_ENV.tlsCert}: give both the key and the certificate path, or neither`);
    } else {
      const keyPath = c.check(keySource, z.string().min(1), 'a file path', '');
      const certPath = c.check(certSource, z.string().min(1), 'a file path', '');
      if (keyPath && certPath) {
        tls = {
          keyFile: readableFile(resolve(keySource.baseDir, keyPath), keySource.where, issues),
          certFile: readableFile(resolve(certSource.baseDir, certPath), certSource.where, issues),
        };
      }
    }
  }

  issues.push(...c.issues);
  if (limits.maxStatusBytes > limits.maxDirectiveBytes) {
    issues.push(`${LIMIT_FIELDS.maxStatusBytes.env}: must not exceed ${LIMIT_FIELDS.maxDirectiveBytes.env} (${limits.maxDirectiveBytes})`);
  }
  if (cluster === 'redis' && persistence === 'memory') {
    issues.push(`${BROKER_ENV.persistence}: "memory" cannot be clustered (${BROKER_ENV.cluster}=redis shares sessions through Redis)`);
  }
  if (issues.length > 0) throw new ConfigError(issues, 'broker configuration');

  const config: BrokerConfig = { host, port, redisUrl, keyPrefix, serviceAccounts, limits, cluster, persistence, intakeMode, intakeShards };
  if (tls) config.tls = tls;
  if (brokerId !== undefined) config.brokerId = brokerId;
  if (metricsPort !== undefined) config.metricsPort = metricsPort;
  if (metricsHost !== undefined) config.metricsHost = metricsHost;
  return config;
}

function loadServiceAccounts(env: NodeJS.ProcessEnv, fileObject: Record<string, unknown>, file: string | undefined, fileDir: string, issues: string[]): ServiceAccount[] {
  const inlineEnv = env[BROKER_ENV.serviceAccounts]?.trim();
  const pathEnv = env[BROKER_ENV.serviceAccountsFile]?.trim();
  let where: string;
  let raw: unknown;
  if (inlineEnv && pathEnv) {
    issues.push(`${BROKER_ENV.serviceAccounts} and ${BROKER_ENV.serviceAccountsFile}: set one, not both`);
    return [];
  }
  if (inlineEnv) {
    where = BROKER_ENV.serviceAccounts;
    try {
      raw = JSON.parse(inlineEnv) as unknown;
    } catch {
      issues.push(`${where}: not valid JSON (expected an array of {username, secretSha256, role})`);
      return [];
    }
  } else if (pathEnv) {
    where = `${BROKER_ENV.serviceAccountsFile} (${pathEnv})`;
    raw = readJsonFile(resolve(pathEnv), BROKER_ENV.serviceAccountsFile, issues);
    if (raw === undefined) return [];
  } else if (fileObject.serviceAccounts !== undefined) {
    where = `${file}: serviceAccounts`;
    raw = fileObject.serviceAccounts;
  } else if (fileObject.serviceAccountsFile !== undefined) {
    if (typeof fileObject.serviceAccountsFile !== 'string') {
      issues.push(`${file}: serviceAccountsFile: expected a file path`);
      return [];
    }
    const path = resolve(fileDir, fileObject.serviceAccountsFile);
    where = `${file}: serviceAccountsFile (${path})`;
    raw = readJsonFile(path, `${file}: serviceAccountsFile`, issues);
    if (raw === undefined) return [];
  } else {
    return [];
  }
  const result = serviceAccountsSchema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) {
    // Secrets are hashed, but echo only the field path and rule, never the value.
    const path = issue.path.length > 0 ? `[${issue.path.map(String).join('].[')}]` : '';
    issues.push(`${where}${path ? ` ${path}` : ''}: ${issue.message}`);
  }
  return [];
}
