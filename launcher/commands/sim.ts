// `fleet-ota sim`: runs a simulated fleet in this process until SIGINT/SIGTERM. Thin: parses
// options, gets the trust anchor, registers the devices, prints live counts; the devices are
// device-sim's reference agents. Never prints a key or the operator token.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { pino } from 'pino';
import { rootEnvelope, updateRoot, verifyTrustAnchor, type RootEnvelope } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { ApiCallError } from '../../api-client/index.js';
import { AgentError, brokerUrlList, FileDeviceStore, isAgentError, silentAgentLogger, type AgentLogger } from '../../device-sim/agent/index.js';
import { CLI_EXIT, CliError } from '../cli-support.js';
import {
  connectFleet, DEFAULT_CONNECT, DEFAULT_ID_PREFIX, DEFAULT_SEED, fetchTrustAnchor, formatCounts,
  MAX_FLEET_SIZE, parseProfileMix, provisionFleet, registerDevices, type FleetState,
} from '../../device-sim/sim/index.js';

export interface SimCommandOptions {
  devices: number;
  /** One broker URL or several to fail over between. */
  broker: string | string[];
  api?: string;
  token?: string;
  root?: string;
  profile: string;
  vendor: string;
  class: string;
  idPrefix: string;
  seed: number;
  /** Where identities persist across runs (the command's default: DEFAULT_SIM_STATE_DIR); false or absent: in memory. */
  stateDir?: string | false;
  concurrency: number;
  tokenLifetime: number;
  register: boolean;
  /** Keep retrying GET /v1/roots while the API is down or has no root yet. */
  wait: boolean;
  logLevel?: string;
}

export interface SimIo {
  signal: AbortSignal;
  out: NodeJS.WritableStream;
  isTTY: boolean;
  /** Seconds since the epoch. */
  now?: () => number;
  logger?: AgentLogger;
}

/** Identities persist here unless --state-dir says elsewhere or --no-state-dir: a restart is the same fleet. */
export const DEFAULT_SIM_STATE_DIR = '.fleet-ota/sim';

/** Refresh periods of the live counts line; retry period while waiting for the API's root. */
export const SIM_PRINT = { ttyMs: 1_000, plainMs: 5_000, rootRetryMs: 5_000 } as const;

function integer(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d{1,15}$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`expected an integer in ${min}..${max}`);
    return Number(value);
  };
}

/** `--broker`: one MQTT URL or a comma-separated list of them (failover). */
function brokerUrls(value: string): string[] {
  try {
    return brokerUrlList(value);
  } catch (error) {
    if (error instanceof AgentError) throw new InvalidArgumentError(error.message);
    throw error;
  }
}

/** A root file: one RootEnvelope, or `{ "roots": [...] }` (the newest after walking the chain). */
async function readRootFile(path: string, nowSeconds: number): Promise<RootEnvelope> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (error) {
    throw new CliError(CLI_EXIT.usage, 'root_file', `cannot read root file ${path}: ${(error as Error).message}`);
  }
  const list = Array.isArray((json as { roots?: unknown }).roots) ? (json as { roots: unknown[] }).roots : [json];
  const roots: RootEnvelope[] = [];
  for (const item of list) {
    const parsed = rootEnvelope.safeParse(item);
    if (!parsed.success) throw new CliError(CLI_EXIT.usage, 'root_file', `${path} does not hold root documents`);
    roots.push(parsed.data);
  }
  roots.sort((a, b) => a.signed.version - b.signed.version);
  try {
    const newest = updateRoot(verifyTrustAnchor(roots[0]!, nodeEd25519), roots.slice(1), nowSeconds, nodeEd25519);
    return roots.find((r) => r.signed.version === newest.version)!;
  } catch (error) {
    throw new CliError(CLI_EXIT.usage, 'root_file', `${path}: root refused (${(error as { code?: string }).code ?? 'invalid'})`);
  }
}

/**
 * The trust anchor from the API. With `wait`, an API not up yet or without a root (a compose
 * stack before `fleet-ota root publish`) is retried until it answers or the signal aborts.
 */
async function rootFromApi(api: string, wait: boolean, io: SimIo, now: () => number, say: (line: string) => void): Promise<RootEnvelope | undefined> {
  for (let announced = false; ; announced = true) {
    try {
      return await fetchTrustAnchor(api, now());
    } catch (error) {
      const retryable = (error instanceof ApiCallError && error.kind === 'unreachable') || isAgentError(error, 'no_root');
      if (!wait || !retryable) apiFailure(error);
      if (!announced) say(`waiting for ${api} to serve a root (${(error as Error).message}); publish one with fleet-ota root publish`);
      await sleep(SIM_PRINT.rootRetryMs, undefined, { signal: io.signal }).catch(() => undefined);
      if (io.signal.aborted) return undefined;
    }
  }
}

/** The simulator's codes for an API failure: the server refused (exit 3), or could not be used (1). */
const API_FAILURE_CODES = { refused: 'api_refused', unreachable: 'api_unreachable', bad_response: 'api_response' } as const;

function apiFailure(error: unknown): never {
  if (error instanceof ApiCallError) throw new CliError(error.kind === 'refused' ? CLI_EXIT.refused : CLI_EXIT.failure, API_FAILURE_CODES[error.kind], error.message);
  if (isAgentError(error, 'no_root') || isAgentError(error, 'root_chain')) throw new CliError(CLI_EXIT.failure, error.code, error.message);
  throw error;
}

/** The whole command, callable from tests: resolves once stopped by `io.signal`. */
export async function runSim(o: SimCommandOptions, io: SimIo): Promise<Record<FleetState, number>> {
  const now = io.now ?? (() => Date.now() / 1000);
  const say = (line: string): void => void io.out.write(`${line}\n`);
  let mix;
  try {
    mix = parseProfileMix(o.profile);
  } catch (error) {
    throw new CliError(CLI_EXIT.usage, 'invalid_profile', (error as Error).message);
  }
  if (!o.root && !o.api) throw new CliError(CLI_EXIT.usage, 'usage', 'give --api (to fetch the roots and register devices) or --root <file>');
  const token = o.token ?? process.env.FLEET_OPERATOR_TOKEN;
  if (o.api && o.register && !token) throw new CliError(CLI_EXIT.usage, 'usage', 'registering devices needs --token or FLEET_OPERATOR_TOKEN (or pass --no-register)');

  const root = o.root ? await readRootFile(o.root, now()) : await rootFromApi(o.api!, o.wait, io, now, say);
  if (!root) return {} as Record<FleetState, number>;
  say(`trust anchor: root v${root.signed.version} (${o.root ? o.root : `${o.api}/v1/roots`})`);

  const fleet = await provisionFleet({
    count: o.devices, idPrefix: o.idPrefix, root, vendorId: o.vendor, classId: o.class, profiles: mix, seed: o.seed,
    ...(o.stateDir ? { store: new FileDeviceStore(o.stateDir) } : {}),
  });
  say(o.stateDir ? `identities in ${o.stateDir} (reused by the next run)` : 'identities in memory only (--no-state-dir): a restart makes new keys');
  const byProfile = new Map<string, number>();
  for (const d of fleet.devices) byProfile.set(d.profile, (byProfile.get(d.profile) ?? 0) + 1);
  say(`provisioned ${fleet.devices.length} devices ${fleet.devices[0]!.id}..${fleet.devices.at(-1)!.id} (${[...byProfile].map(([p, n]) => `${p} ${n}`).join(', ')})`);

  if (o.api && o.register) {
    const result = await registerDevices(o.api, token!, fleet.devices).catch(apiFailure);
    say(`registered ${result.imported} new devices with ${o.api}${result.updated ? `, ${result.updated} already registered with these keys` : ''}${result.failedCount ? `; ${result.failedCount} refused, first: ${result.failed.slice(0, 3).map((f) => `line ${f.line} ${f.code}`).join(', ')}` : ''}`);
    if (result.conflicts.length > 0) {
      // These could never connect (the broker checks the registered key): say so instead of "connected 0/N" forever.
      const where = o.stateDir ? `the identities in ${o.stateDir}` : 'this run\'s new in-memory identities';
      throw new CliError(CLI_EXIT.refused, 'identity_conflict', `${result.conflicts.length} device${result.conflicts.length === 1 ? ' is' : 's are'} registered with other keys or another class than ${where} (first: ${result.conflicts.slice(0, 3).join(', ')}): they could never connect. Run with the --state-dir they were created in, choose another --id-prefix, or revoke them (fleet-ota devices revoke <id>) and use new ids`);
    }
  }
  if (io.signal.aborted) return {} as Record<FleetState, number>;

  say(`connecting to ${brokerUrlList(o.broker).join(', ')} (at most ${o.concurrency} at a time)...`);
  const handle = await connectFleet(fleet, {
    brokerUrl: o.broker, connectConcurrency: o.concurrency, tokenLifetimeSeconds: o.tokenLifetime, logger: io.logger ?? silentAgentLogger,
  });
  const line = (): string => formatCounts(handle.counts(), handle.connected(), fleet.devices.length);
  // One refreshing line on a terminal; a plain line every few seconds in a log.
  const timer = setInterval(() => {
    if (io.isTTY) io.out.write(`\r\x1b[2K${line()}`);
    else say(`${new Date().toISOString()} ${line()}`);
  }, io.isTTY ? SIM_PRINT.ttyMs : SIM_PRINT.plainMs);
  if (!io.isTTY) say(`${new Date().toISOString()} ${line()}`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) return resolve();
    io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  clearInterval(timer);
  const counts = handle.counts();
  if (io.isTTY) io.out.write('\n');
  say(`stopping: ${line()}`);
  await handle.stop();
  say('disconnected');
  return counts;
}

export function registerSimCommands(program: Command): void {
  program.command('sim')
    .description('run a simulated fleet of devices (reference agents) until SIGINT/SIGTERM, printing live counts per state')
    .requiredOption('--broker <urls>', 'MQTT broker URL (mqtt:// or mqtts://), or several comma-separated: each device starts on one at random and fails over to the next', brokerUrls)
    .option('--devices <n>', 'number of devices', integer(1, MAX_FLEET_SIZE), 1000)
    .option('--api <url>', 'orchestrator API: trust anchor from GET /v1/roots, devices registered with POST /v1/devices/import')
    .option('--token <token>', 'operator token for the import (default: $FLEET_OPERATOR_TOKEN)')
    .option('--root <file>', 'trust anchor file (a root envelope, or {"roots":[...]}) instead of GET /v1/roots')
    .option('--profile <mix>', 'healthy | mixed | "healthy:90,install-failure:10" (see README)', 'healthy')
    .option('--vendor <id>', 'vendorId of the devices', 'acme')
    .option('--class <id>', 'classId of the devices', 'gw-1')
    .option('--id-prefix <prefix>', 'device id prefix', DEFAULT_ID_PREFIX)
    .option('--seed <n>', 'seed for profile assignment and simulated faults', integer(0, 2 ** 31), DEFAULT_SEED)
    .option('--state-dir <dir>', 'keep device records (keys, state) in files here, reused by the next run', DEFAULT_SIM_STATE_DIR)
    .option('--no-state-dir', 'keep identities in memory only (a restart makes new keys, which the registry then refuses)')
    .option('--concurrency <n>', 'connection attempts in flight while the fleet comes up', integer(1, 10_000), DEFAULT_CONNECT.connectConcurrency)
    .option('--token-lifetime <s>', 'connect token lifetime in seconds', integer(60, 86_400), DEFAULT_CONNECT.tokenLifetimeSeconds)
    .option('--no-register', 'do not register the devices (already registered)')
    .option('--no-wait', 'fail at once if the API is down or has no root (default: retry every 5 s)')
    .option('--log-level <level>', 'agent logs on stderr (debug, info, warn, error)')
    .action(async (o: SimCommandOptions) => {
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      const logger = o.logLevel ? pino({ name: 'sim', level: o.logLevel }, pino.destination(2)) : undefined;
      try {
        await runSim(o, { signal: controller.signal, out: process.stdout, isTTY: process.stdout.isTTY === true, ...(logger ? { logger } : {}) });
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
