// `fleet-ota broker`: runs one MQTT broker node from the environment (+ --config file, --port)
// until SIGINT/SIGTERM, then closes gracefully. `fleet-ota broker account` makes a service
// account: the secret goes to a 0600 file, only its hash is printed (as a whole accounts file,
// or added to one with --append). Never prints a secret.
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../orchestrator/keys/key-file.js';
import { InvalidArgumentError, type Command } from 'commander';
import type { RunningBroker, ServiceRole } from '../../broker/index.js';
import { generateServiceSecret, hashServiceSecret } from '../../broker/auth/service-accounts.js';
import { loadBrokerConfig } from '../../broker/config/load-broker-config.js';
import { ConfigError } from '../../runtime/errors.js';
import { CLI_EXIT, CliError } from '../cli-support.js';

function port(value: string): number {
  if (!/^\d{1,5}$/.test(value) || Number(value) > 65_535) throw new InvalidArgumentError('expected an integer port from 0 to 65535');
  return Number(value);
}

function role(value: string): ServiceRole {
  if (value !== 'orchestrator' && value !== 'dashboard') throw new InvalidArgumentError('expected "orchestrator" or "dashboard"');
  return value;
}

function username(value: string): string {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(value)) throw new InvalidArgumentError('expected 1-64 characters of [A-Za-z0-9._-]');
  return value;
}

/** Resolves on the first SIGINT or SIGTERM; a second one while closing exits at once. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      process.once('SIGTERM', () => process.exit(143));
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** The accounts already in a file ([] if it does not exist); anything but a JSON array is refused. */
async function readAccounts(path: string): Promise<unknown[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new CliError(CLI_EXIT.usage, 'file_not_found', `cannot read ${path}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (!Array.isArray(value)) throw new CliError(CLI_EXIT.usage, 'bad_accounts_file', `${path} is not a JSON array of accounts`);
  return value;
}

export function registerBrokerCommands(program: Command): void {
  const broker = program
    .command('broker')
    .description('run the MQTT broker: device tokens, per-topic ACL, limits, presence (config: FLEET_BROKER_* environment variables)')
    .option('--config <file>', 'JSON config file (BrokerConfig fields; environment variables override it)')
    .option('--port <port>', 'listen port, 0 for any free one (overrides FLEET_BROKER_PORT and the file)', port)
    .action(async (options: { config?: string; port?: number }) => {
      let config;
      try {
        config = loadBrokerConfig(process.env, options.config);
      } catch (error) {
        // Whatever stops the configuration (a bad value, an unreadable file) is a usage error.
        throw new CliError(CLI_EXIT.usage, error instanceof ConfigError ? error.code : 'invalid_configuration', (error as Error).message);
      }
      if (options.port !== undefined) config.port = options.port;
      // Aedes and its Redis persistence are loaded on use, not by every CLI command.
      const { startBroker } = await import('../../broker/start-broker.js');
      const running: RunningBroker = await startBroker(config);
      process.stdout.write(`${running.url}\n`);
      if (running.metricsPort !== undefined) process.stdout.write(`metrics: http://${config.metricsHost ?? config.host}:${running.metricsPort}/metrics\n`);
      await untilSignal();
      await running.close();
    });

  broker
    .command('account')
    .description('create a service account: writes a random secret to --secret-file (0600) and prints a complete accounts file (a JSON array) for FLEET_BROKER_SERVICE_ACCOUNTS(_FILE), or adds the entry to one with --append')
    .requiredOption('--username <name>', 'account name, the MQTT username', username)
    .requiredOption('--role <role>', '"orchestrator" (publish directives, read status/presence) or "dashboard" (read only)', role)
    .requiredOption('--secret-file <path>', 'where to write the secret (must not exist)')
    .option('--append <accounts-file>', 'add the entry to this accounts file (created if missing; an existing username is refused)')
    .action(async (options: { username: string; role: ServiceRole; secretFile: string; append?: string }) => {
      // The accounts file is checked before the secret is written, so a refusal leaves nothing behind.
      const accounts = options.append ? await readAccounts(options.append) : [];
      if (accounts.some((a) => (a as { username?: unknown }).username === options.username)) {
        throw new CliError(CLI_EXIT.usage, 'account_exists', `${options.append} already has an account named ${options.username}`);
      }
      const secret = generateServiceSecret();
      await writeFile(options.secretFile, `${secret}\n`, { mode: 0o600, flag: 'wx' });
      const entry = { username: options.username, secretSha256: hashServiceSecret(secret), role: options.role };
      const text = `${JSON.stringify([...accounts, entry], null, 2)}\n`;
      if (!options.append) {
        process.stdout.write(text);
        return;
      }
      try {
        // Hashes only, but no one else needs to read it.
        await writeFileAtomic(options.append, text, 0o600);
      } catch (error) {
        await unlink(options.secretFile).catch(() => {});
        throw error;
      }
      process.stdout.write(`added ${options.username} (${options.role}) to ${options.append}; secret in ${options.secretFile}\n`);
    });
}
