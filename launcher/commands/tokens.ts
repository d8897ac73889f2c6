// `fleet-ota tokens create|list|revoke`: API bearer tokens, managed in Redis directly (REDIS_URL,
// FLEET_KEY_PREFIX) because the first token cannot come from an API that needs one.
// A new token is printed once; only its hash is stored. Creating and revoking are audited, with
// the local user as the actor (audit/audit-log.ts).
import { hostname, userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import { AuditLog, type AuditActor } from '../../orchestrator/audit/audit-log.js';
import { createToken, findToken, listTokens, revokeToken, TokenError, type ApiRole, type TokenRecord } from '../../orchestrator/auth/tokens.js';
import { loadOrchestratorConfig } from '../../orchestrator/config.js';
import { createRedis } from '../../state/redis.js';
import type { RedisClient as Redis } from '../../state/redis.js';
import { CLI_EXIT, CliError, output, table } from '../cli-support.js';

async function withRedis<T>(work: (redis: Redis, prefix: string) => Promise<T>): Promise<T> {
  const config = loadOrchestratorConfig();
  // Fail fast instead of retrying forever when Redis is not there.
  const redis = createRedis(config.redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: true });
  // Connection errors surface through connect() below, not as a second report on stderr.
  let lastError: Error | undefined;
  redis.on('error', (error: Error) => {
    lastError = error;
  });
  try {
    await redis.connect().catch((error: Error) => {
      throw new CliError(CLI_EXIT.failure, 'redis_unreachable', `cannot reach Redis at ${config.redisUrl}: ${(lastError ?? error).message}`);
    });
    return await work(redis, config.keyPrefix);
  } finally {
    redis.disconnect();
  }
}

/** `30d`, `12h`, `90m` from now, or an ISO time. */
export function parseExpiry(value: string, now: Date): Date {
  const match = /^([1-9][0-9]{0,5})([mhd])$/.exec(value);
  const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
  const at = match ? new Date(now.getTime() + Number(match[1]) * unit[match[2] as keyof typeof unit]) : new Date(value);
  if (Number.isNaN(at.getTime()) || (!match && !/^\d{4}-\d{2}-\d{2}/.test(value))) {
    throw new CliError(CLI_EXIT.usage, 'bad_expiry', `--expires takes a duration (30d, 12h, 90m) or an ISO time, not ${value}`);
  }
  return at;
}

function localActor(): AuditActor {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): the host still says where it ran.
  }
  return { via: 'cli', label: `${user}@${hostname()}`, role: 'operator' };
}

function tokenStatus(t: TokenRecord, now: Date): 'active' | 'expired' | 'revoked' {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt && !(Date.parse(t.expiresAt) > now.getTime())) return 'expired';
  return 'active';
}

function asCliError(error: unknown): never {
  if (error instanceof TokenError) throw new CliError(CLI_EXIT.usage, error.code, error.message);
  throw error;
}

export function registerTokensCommands(program: Command): void {
  const tokens = program.command('tokens').description('API bearer tokens (talks to Redis directly: REDIS_URL, FLEET_KEY_PREFIX)');

  tokens.command('create')
    .description('create a named token and print it once')
    .addOption(new Option('--role <role>', 'operator (read and write) or read (read-only)').choices(['operator', 'read']).makeOptionMandatory())
    .option('--label <label>', 'who or what uses it: shown in `tokens list` and as the actor in the audit log')
    .option('--expires <when>', 'refuse it after a duration (30d, 12h, 90m) or an ISO time; default: never')
    .option('--json', 'print JSON')
    .action(async (options: { role: ApiRole; label?: string; expires?: string; json?: boolean }) => {
      const now = new Date();
      const expiresAt = options.expires ? parseExpiry(options.expires, now) : undefined;
      const created = await withRedis(async (redis, prefix) => {
        const result = await createToken(redis, prefix, options.role, { label: options.label, expiresAt, now }).catch(asCliError);
        await new AuditLog(redis, prefix).record({ actor: localActor(), action: 'token.create', target: result.id, detail: { role: options.role, ...(options.label ? { label: options.label } : {}) } }, now);
        return result;
      });
      const { token, id, hash, record } = created;
      output(options, { token, id, hash, ...record }, () =>
        `${token}\n(token ${id}, role ${options.role}${record.label ? `, label ${record.label}` : ''}${record.expiresAt ? `, expires ${record.expiresAt}` : ''}; shown once: store it now. Revoke with: fleet-ota tokens revoke ${id})`);
    });

  tokens.command('list')
    .description('list tokens: id (hash prefix), role, label, created, expiry and status; never a token')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const now = new Date();
      const list = (await withRedis((redis, prefix) => listTokens(redis, prefix))).map((t) => ({ ...t, status: tokenStatus(t, now) }));
      output(options, { tokens: list }, () =>
        list.length === 0 ? 'no tokens' : table(['ID', 'ROLE', 'STATUS', 'LABEL', 'CREATED', 'EXPIRES'], list.map((t) => [t.id, t.role, t.status, t.label ?? '', t.createdAt, t.expiresAt ?? 'never'])),
      );
    });

  tokens.command('revoke <id>')
    .description('revoke the token whose id (hash prefix, at least 8 hex characters) is given; it stays listed as revoked')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'print JSON')
    .action(async (hashPrefix: string, options: { reason?: string; json?: boolean }) => {
      if (!/^[0-9a-f]{8,64}$/.test(hashPrefix)) throw new CliError(CLI_EXIT.usage, 'bad_hash', 'give at least 8 hex characters of the token id (fleet-ota tokens list)');
      const now = new Date();
      const revoked = await withRedis(async (redis, prefix) => {
        const match = await findToken(redis, prefix, hashPrefix).catch(asCliError);
        await revokeToken(redis, prefix, match.hash, now);
        await new AuditLog(redis, prefix).record({ actor: localActor(), action: 'token.revoke', target: match.id, reason: options.reason, detail: { role: match.role, ...(match.label ? { label: match.label } : {}) } }, now);
        return match;
      });
      output(options, { revoked: revoked.id, hash: revoked.hash, role: revoked.role, ...(revoked.label ? { label: revoked.label } : {}) }, () => `revoked ${revoked.id} (${revoked.role}${revoked.label ? `, ${revoked.label}` : ''})`);
    });
}
