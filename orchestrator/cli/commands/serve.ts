// `fleet-ota serve`: runs the orchestrator HTTP service (server.ts) until SIGINT or SIGTERM, then
// shuts down gracefully. Configuration comes from the environment (orchestrator/config.ts).
import type { Command } from 'commander';
import { loadOrchestratorConfig, type OrchestratorConfig } from '../../config.js';
import { startOrchestrator, type OrchestratorHooks, type RunningOrchestrator } from '../../server.js';

export interface ServeOptions {
  /**
   * Starts the service; defaults to the HTTP service alone. The rollout engine's wiring passes
   * its own (routes, workers) here.
   */
  start?: (config: OrchestratorConfig) => Promise<Pick<RunningOrchestrator, 'url' | 'close'>>;
  hooks?: OrchestratorHooks;
}

/** Forced exit if a graceful shutdown hangs. */
const SHUTDOWN_GRACE_MS = 15_000;

export function registerServeCommands(program: Command, serveOptions: ServeOptions = {}): void {
  program.command('serve')
    .description('run the orchestrator API (env: REDIS_URL, FLEET_HTTP_HOST, FLEET_HTTP_PORT, FLEET_PUBLIC_URL, FLEET_DATA_DIR, FLEET_OPERATOR_TOKEN, ...)')
    .option('--host <host>', 'listen address (overrides FLEET_HTTP_HOST)')
    .option('--port <port>', 'listen port (overrides FLEET_HTTP_PORT)')
    .action(async (options: { host?: string; port?: string }) => {
      const config = loadOrchestratorConfig({
        ...process.env,
        ...(options.host ? { FLEET_HTTP_HOST: options.host } : {}),
        ...(options.port ? { FLEET_HTTP_PORT: options.port } : {}),
      });
      const running = serveOptions.start ? await serveOptions.start(config) : await startOrchestrator(config, serveOptions.hooks);
      process.stdout.write(`fleet-ota orchestrator listening on ${running.url}\n`);
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
