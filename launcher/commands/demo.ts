// `fleet-ota demo` (npm start): the one-command staged rollout on embedded defaults.
import type { Command } from 'commander';
import { createLogger } from '../../runtime/logger.js';
import { DEMO_DEFAULTS } from '../demo/demo-defaults.js';
import { CLI_EXIT, CliError } from '../cli-support.js';

export function registerDemoCommands(program: Command): void {
  program.command('demo')
    .description('run a real 3-wave staged rollout to simulated devices on this machine (Redis from REDIS_URL, or a private redis-server)')
    .option('--devices <n>', 'simulated devices', String(DEMO_DEFAULTS.devices))
    .option('--profiles <mix>', 'device profiles, e.g. healthy:95,install-failure:5 or mixed', DEMO_DEFAULTS.profiles)
    .option('--port <port>', 'orchestrator HTTP port (falls back to a free one if taken)', process.env.FLEET_HTTP_PORT ?? String(DEMO_DEFAULTS.httpPort))
    .option('--waves <list>', 'cumulative wave shares', DEMO_DEFAULTS.waves.join(','))
    .option('--bake <seconds>', 'bake time per wave', String(DEMO_DEFAULTS.bakeSeconds))
    .option('--keep-open', 'keep the broker, orchestrator and dashboard running after the rollout')
    .action(async (options: { devices: string; profiles: string; port: string; waves: string; bake: string; keepOpen?: boolean }) => {
      const devices = Number(options.devices);
      if (!Number.isInteger(devices) || devices < 1 || devices > 20_000) throw new CliError(CLI_EXIT.usage, 'bad_option', '--devices must be 1..20000 (one process holds two sockets per device)');
      const waves = options.waves.split(',').map((w) => w.trim());
      if (!waves.every((w) => /^\d+(\.\d+)?%$/.test(w))) throw new CliError(CLI_EXIT.usage, 'bad_option', '--waves takes cumulative shares like 1%,10%,100%');
      // Loaded on use: the whole stack is heavy, and every other command starts faster without it.
      const { runDemo } = await import('../demo/run-demo.js');
      const result = await runDemo({
        devices,
        profiles: options.profiles,
        httpPort: Number(options.port),
        waves,
        bakeSeconds: Number(options.bake),
        keepOpen: options.keepOpen ?? false,
        logger: createLogger('fleet-ota', process.env.LOG_LEVEL ?? 'warn'),
        out: process.stdout,
      });
      if (result.rollout.status !== 'completed') process.exitCode = CLI_EXIT.failure;
    });
}
