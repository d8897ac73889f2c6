// The `fleet-ota` command line: one program, one module per command group under commands/.
// Exit codes scripts can rely on: 0 ok, 1 failure, 2 usage error, 3 refused by the server.
import { Command, CommanderError } from 'commander';
import { registerKeysCommands } from './commands/keys.js';
import { registerDevicesCommands } from './commands/devices.js';
import { registerReleasesCommands } from './commands/releases.js';
import { registerRootCommands } from './commands/root.js';
import { registerServeCommands } from './commands/serve.js';
import { registerTokensCommands } from './commands/tokens.js';
import { registerSimCommands } from './commands/sim.js';
import { registerBrokerCommands } from './commands/broker.js';
import { registerRolloutsCommands } from './commands/rollouts.js';
import { registerDemoCommands } from './commands/demo.js';
import { startFleetOrchestrator } from '../service.js';

export const EXIT = { ok: 0, failure: 1, usage: 2, refused: 3 } as const;

export function buildProgram(): Command {
  const program = new Command('fleet-ota')
    .description('OTA update orchestrator for IoT fleets over MQTT')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerKeysCommands(program);
  registerDevicesCommands(program);
  registerReleasesCommands(program);
  registerRootCommands(program);
  // The full orchestrator: HTTP API plus rollout engine and status ingestion.
  registerServeCommands(program, { start: (config) => startFleetOrchestrator({ config }) });
  registerRolloutsCommands(program);
  registerDemoCommands(program);
  registerTokensCommands(program);
  registerSimCommands(program);
  registerBrokerCommands(program);
  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const code = (error as { code?: string }).code;
    process.stderr.write(`fleet-ota: ${(error as Error).message}${code ? ` (${code})` : ''}\n`);
    process.exitCode = (error as { exitCode?: number }).exitCode ?? EXIT.failure;
  }
}

await main(process.argv);
