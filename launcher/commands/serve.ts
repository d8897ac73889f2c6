// `fleet-ota serve`: runs the whole orchestrator (orchestrator/server.ts: HTTP API, rollout
// engine, status ingestion) until SIGINT or SIGTERM, then shuts down gracefully. Configuration
// comes from the environment (orchestrator/config.ts); every missing or bad setting is reported
// at once, and the start says where the dashboard is and how to get a token.
import { access, constants } from 'node:fs/promises';
import type { Command } from 'commander';
import { ConfigError, loadOrchestratorConfig, type OrchestratorConfig } from '../../orchestrator/config.js';
import { CLI_EXIT, CliError } from '../cli-support.js';

/** The director key file must be readable before anything starts (config.ts reads no files). */
async function directorKeyProblems(path: string | undefined): Promise<string[]> {
  if (path === undefined || (await access(path, constants.R_OK).then(() => true, () => false))) return [];
  return [`FLEET_DIRECTOR_KEY: cannot read ${path}`];
}

/** Lines printed once the service listens: where things are and how to get a token. */
export function startBanner(url: string, config: OrchestratorConfig): string[] {
  return [
    `fleet-ota orchestrator listening on ${url}`,
    `dashboard: ${url}/dashboard/   API: ${url}/v1 (OpenAPI: ${url}/v1/openapi.json)`,
    config.operatorToken
      ? 'token: FLEET_OPERATOR_TOKEN is an operator token (more: fleet-ota tokens create --role operator|read)'
      : `token: none configured; create one with \`fleet-ota tokens create --role operator\` (same REDIS_URL and FLEET_KEY_PREFIX=${config.keyPrefix}), then paste it into the dashboard or export FLEET_API_TOKEN`,
  ];
}

/** Forced exit if a graceful shutdown hangs. */
const SHUTDOWN_GRACE_MS = 15_000;

export function registerServeCommands(program: Command): void {
  program.command('serve')
    .description('run the orchestrator API (env: REDIS_URL, FLEET_HTTP_HOST, FLEET_HTTP_PORT, FLEET_PUBLIC_URL, FLEET_DATA_DIR, FLEET_OPERATOR_TOKEN, ...)')
    .option('--host <host>', 'listen address (overrides FLEET_HTTP_HOST)')
    .option('--port <port>', 'listen port (overrides FLEET_HTTP_PORT)')
    .action(async (options: { host?: string; port?: string }) => {
      const env = {
        ...process.env,
        ...(options.host ? { FLEET_HTTP_HOST: options.host } : {}),
        ...(options.port ? { FLEET_HTTP_PORT: options.port } : {}),
      };
      // Every problem in one run: the config's own checks (with what the engine needs: broker,
      // director key), then the key file.
      const problems: string[] = [];
      let config: OrchestratorConfig | undefined;
      try {
        config = loadOrchestratorConfig(env, { requireEngine: true });
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        problems.push(...error.issues);
      }
      problems.push(...(await directorKeyProblems(config?.directorKeyPath)));
      if (problems.length > 0 || !config) {
        throw new CliError(CLI_EXIT.usage, 'invalid_configuration', `cannot start, ${problems.length} setting${problems.length === 1 ? '' : 's'} to fix:\n  ${problems.join('\n  ')}`);
      }
      // The server is loaded on use, so the CLI's other commands start without fastify and BullMQ.
      const running = await (await import('../../orchestrator/server.js')).startFleetOrchestrator({ config });
      process.stdout.write(`${startBanner(running.url, config).join('\n')}\n`);
      await new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals) => {
          process.stdout.write(`${signal}: shutting down\n`);
          const force = setTimeout(() => {
            process.stderr.write('fleet-ota: shutdown timed out\n');
            process.exit(1);
          }, SHUTDOWN_GRACE_MS);
          force.unref();
          running.close().then(resolve, (error: Error) => {
            process.stderr.write(`fleet-ota: shutdown failed: ${error.message}\n`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
