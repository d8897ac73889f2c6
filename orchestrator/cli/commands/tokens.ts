// `fleet-ota tokens create|list|revoke`: API bearer tokens, managed in Redis directly (REDIS_URL,
// FLEET_KEY_PREFIX) because the first token cannot come from an API that needs one.
// A new token is printed once; only its hash is stored.
import { Option, type Command } from 'commander';
import { createToken, listTokens, revokeToken, type ApiRole } from '../../auth/tokens.js';
import { loadOrchestratorConfig } from '../../config.js';
import { createRedis } from '../../infra/redis.js';
import type { Redis } from 'ioredis';
import { CLI_EXIT, CliError, output, table } from '../api-client.js';

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

export function registerTokensCommands(program: Command): void {
  const tokens = program.command('tokens').description('API bearer tokens (talks to Redis directly: REDIS_URL, FLEET_KEY_PREFIX)');

  tokens.command('create')
    .description('create a token and print it once')
    .addOption(new Option('--role <role>', 'operator (read and write) or read (read-only)').choices(['operator', 'read']).makeOptionMandatory())
    .option('--label <label>', 'a note stored with the hash (who or what uses it)')
    .option('--json', 'print JSON')
    .action(async (options: { role: ApiRole; label?: string; json?: boolean }) => {
      const { token, hash } = await withRedis((redis, prefix) => createToken(redis, prefix, options.role, options.label));
      output(options, { token, role: options.role, hash }, () => `${token}\n(role ${options.role}; shown once: store it now. Revoke with: fleet-ota tokens revoke ${hash.slice(0, 12)})`);
    });

  tokens.command('list')
    .description('list tokens by hash prefix and role (tokens themselves are not stored)')
    .option('--json', 'print JSON')
    .action(async (options: { json?: boolean }) => {
      const list = await withRedis((redis, prefix) => listTokens(redis, prefix));
      output(options, { tokens: list }, () =>
        list.length === 0 ? 'no tokens' : table(['HASH', 'ROLE', 'CREATED', 'LABEL'], list.map((t) => [t.hash.slice(0, 12), t.role, t.createdAt, t.label ?? ''])),
      );
    });

  tokens.command('revoke <hash-prefix>')
    .description('revoke the token whose hash starts with this prefix (at least 8 characters)')
    .option('--json', 'print JSON')
    .action(async (hashPrefix: string, options: { json?: boolean }) => {
      if (!/^[0-9a-f]{8,64}$/.test(hashPrefix)) throw new CliError(CLI_EXIT.usage, 'bad_hash', 'give at least 8 hex characters of the token hash (fleet-ota tokens list)');
      const revoked = await withRedis(async (redis, prefix) => {
        const matches = (await listTokens(redis, prefix)).filter((t) => t.hash.startsWith(hashPrefix));
        if (matches.length !== 1) throw new CliError(CLI_EXIT.usage, matches.length === 0 ? 'not_found' : 'ambiguous', `${matches.length} tokens match ${hashPrefix}`);
        await revokeToken(redis, prefix, matches[0]!.hash);
        return matches[0]!;
      });
      output(options, { revoked: revoked.hash, role: revoked.role }, () => `revoked ${revoked.hash.slice(0, 12)} (${revoked.role})`);
    });
}
