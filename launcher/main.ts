// The `fleet-ota` command line: one program, one module per command group under commands/.
// Exit codes scripts can rely on: 0 ok, 1 failure, 2 usage error, 3 refused by the server,
// 4 a watched rollout paused (an operator must act), 5 a watched rollout was aborted.
// Under --json every error is one JSON line `{"code","message"}` on stderr (stdout holds results only).
import { Command, CommanderError } from 'commander';
import { registerKeysCommands } from './commands/keys.js';
import { registerCertsCommands } from './commands/certs.js';
import { registerDevicesCommands } from './commands/devices.js';
import { registerReleasesCommands } from './commands/releases.js';
import { registerRootCommands } from './commands/root.js';
import { registerServeCommands } from './commands/serve.js';
import { registerTokensCommands } from './commands/tokens.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerSimCommands } from './commands/sim.js';
import { registerBrokerCommands } from './commands/broker.js';
import { registerRolloutsCommands } from './commands/rollouts.js';
import { registerDemoCommands } from './commands/demo.js';
import { ApiCallError } from '../api-client/index.js';
import { CLI_EXIT, cliErrorOf } from './cli-support.js';

export const EXIT = CLI_EXIT;

/** `{"code","message"}` on one line: what scripts parse under --json. */
function jsonError(code: string, message: string): string {
  return `${JSON.stringify({ code, message })}\n`;
}

export function buildProgram(options: { jsonErrors?: boolean } = {}): Command {
  const program = new Command('fleet-ota')
    .description('OTA update orchestrator for IoT fleets over MQTT')
    .version('0.1.0')
    .showHelpAfterError(!options.jsonErrors)
    .exitOverride();
  if (options.jsonErrors) {
    // Commander's usage errors ("error: unknown option ...") become the same JSON line.
    program.configureOutput({ outputError: (text, write) => write(jsonError('usage', text.trim().replace(/^error: /, ''))) });
  }
  registerKeysCommands(program);
  registerCertsCommands(program);
  registerDevicesCommands(program);
  registerReleasesCommands(program);
  registerRootCommands(program);
  // The full orchestrator: HTTP API plus rollout engine and status ingestion (loaded on use:
  // the rest of the CLI starts without the orchestrator's dependencies).
  registerServeCommands(program);
  registerRolloutsCommands(program);
  registerDemoCommands(program);
  registerTokensCommands(program);
  registerAuditCommands(program);
  registerSimCommands(program);
  registerBrokerCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  // Decided before parsing, so that even a parse error answers in JSON.
  const json = argv.slice(2).includes('--json');
  const program = buildProgram({ jsonErrors: json });
  try {
    await program.parseAsync(argv);
  } catch (thrown) {
    if (thrown instanceof CommanderError) {
      process.exitCode = thrown.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const error = thrown instanceof ApiCallError ? cliErrorOf(thrown) : thrown;
    const raw = (error as { code?: unknown }).code;
    const code = typeof raw === 'string' ? raw : undefined;
    const message = (error as Error).message;
    process.stderr.write(json ? jsonError(code ?? 'failure', message) : `fleet-ota: ${message}${code ? ` (${code})` : ''}\n`);
    process.exitCode = (error as { exitCode?: number }).exitCode ?? EXIT.failure;
  }
}

await main(process.argv);
