// `fleet-ota rollouts create|list|show|devices|watch|start|pause|resume|abort|approve|rollback`:
// staged rollouts through the HTTP API. Rollback is a roll-forward: the previous image
// re-released under a higher sequence, signed offline; the command walks the operator through it.
// Waves are numbered from 1 in everything printed and in --wave; the API's `index` is 0-based.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { importRelease, type ReleaseInfo } from '../../api-client/index.js';
import { buildReleaseBody, formatWireTime, signRelease, type ReleaseEnvelope } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { readPrivateKeyFile } from '../../orchestrator/keys/key-file.js';
import { failedCount } from '../../protocol/states.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import type { RolloutPreview } from '../../orchestrator/rollouts/plan-rollout.js';
import type { RolloutSpecInput } from '../../orchestrator/rollouts/spec.js';
import { CLI_EXIT, CliError, createApiClient, output, table, withApiOptions, type ApiClient, type ApiOptions } from '../cli-support.js';
import { frameWriter, isFinished, renderRollout } from '../rollout-progress.js';

interface CreateOptions extends ApiOptions {
  release: string;
  id?: string;
  device?: string[];
  group?: string[];
  tag?: string[];
  installedRelease?: string;
  query?: string;
  dynamic?: boolean;
  all?: boolean;
  holdRemainder?: boolean;
  force?: boolean;
  waves: string;
  canary?: string;
  successThreshold?: string;
  failureThreshold?: string;
  bake?: string;
  deviceTimeout?: string;
  manual?: boolean;
  policy?: 'auto' | 'optional' | 'forced';
  deadline?: string;
  window?: string;
  failureAction?: 'pause' | 'abort';
  maxPerMinute?: string;
  ramp?: string;
  startAt?: string;
  endAt?: string;
  maintenance?: string[];
  maxInFlight?: string;
  maxBlastRadius?: string;
  skipUpToDate?: boolean;
  skipOfflineFor?: string;
  dryRun?: boolean;
  start: boolean;
  watch?: boolean;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function number(flag: string, text: string | undefined, parse: (t: string) => number = Number): number | undefined {
  if (text === undefined) return undefined;
  const n = parse(text);
  if (!Number.isFinite(n)) throw new CliError(CLI_EXIT.usage, 'bad_option', `${flag} ${text} is not a number`);
  return n;
}

/** `1%,10%,100%` (cumulative shares), `5,50,all` (counts, then the rest), mixed. */
export function parseWaves(text: string, common: Record<string, unknown>): Array<Record<string, unknown>> {
  return text.split(',').map((part) => part.trim()).filter(Boolean).map((part) => {
    if (part === 'all') return { percent: 100, ...common };
    const percent = /^(\d+(?:\.\d+)?)%$/.exec(part);
    if (percent) return { percent: Number(percent[1]), ...common };
    if (/^\d+$/.test(part)) return { count: Number(part), ...common };
    throw new CliError(CLI_EXIT.usage, 'bad_waves', `--waves: "${part}" is neither N% nor a count nor "all"`);
  });
}

export function specFromOptions(o: CreateOptions): RolloutSpecInput {
  const common: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (value !== undefined) common[key] = value;
  };
  set('successThreshold', number('--success-threshold', o.successThreshold));
  set('failureThreshold', number('--failure-threshold', o.failureThreshold));
  set('bakeSeconds', number('--bake', o.bake));
  set('deviceTimeoutSeconds', number('--device-timeout', o.deviceTimeout));
  if (o.manual) common.promotion = 'manual';
  const waves = parseWaves(o.waves, common);
  if (o.canary) waves.unshift({ deviceIds: o.canary.split(',').map((s) => s.trim()).filter(Boolean), ...common });
  let window: { start: string; end: string } | undefined;
  if (o.window) {
    const match = /^(\d\d:\d\d)-(\d\d:\d\d)$/.exec(o.window);
    if (!match) throw new CliError(CLI_EXIT.usage, 'bad_window', '--window takes HH:MM-HH:MM (UTC)');
    window = { start: match[1]!, end: match[2]! };
  }
  const target: Record<string, unknown> = {};
  if (o.device?.length) target.deviceIds = o.device;
  if (o.group?.length) target.groups = o.group;
  if (o.tag?.length) target.tags = o.tag;
  if (o.installedRelease) target.installedReleaseId = o.installedRelease;
  if (o.query) target.query = o.query;
  // The whole fleet is never implied: an empty target is a usage error, --all says it.
  if (o.all && Object.keys(target).length > 0) throw new CliError(CLI_EXIT.usage, 'invalid_target', '--all cannot be combined with --device, --group, --tag, --installed-release or --query');
  if (o.all) target.all = true;
  if (Object.keys(target).length === 0) throw new CliError(CLI_EXIT.usage, 'target_required', 'no target: give --device, --group, --tag, --installed-release or --query, or --all for every device of the release\'s class');
  const maxPerMinute = number('--max-per-minute', o.maxPerMinute);
  const ramp = o.ramp === undefined ? undefined : parseRamp(o.ramp);
  if (ramp && maxPerMinute === undefined) throw new CliError(CLI_EXIT.usage, 'bad_option', '--ramp needs --max-per-minute, the rate it ramps up to');
  const schedule = {
    ...(o.startAt ? { startAt: o.startAt } : {}),
    ...(o.endAt ? { endAt: o.endAt } : {}),
    ...(o.maintenance?.length ? { windows: o.maintenance.map(parseMaintenance) } : {}),
  };
  const maxInFlight = number('--max-in-flight', o.maxInFlight);
  const maxBlastRadius = number('--max-blast-radius', o.maxBlastRadius);
  const offlineFor = number('--skip-offline-for', o.skipOfflineFor);
  const exclude = { ...(o.skipUpToDate ? { upToDate: true } : {}), ...(offlineFor !== undefined ? { offlineForSeconds: offlineFor } : {}) };
  return {
    releaseId: o.release,
    ...(o.id ? { id: o.id } : {}),
    target,
    waves: waves as RolloutSpecInput['waves'],
    policy: { mode: o.policy ?? 'auto', ...(o.deadline ? { deadline: o.deadline } : {}), ...(window ? { window } : {}) },
    failureAction: o.failureAction ?? 'pause',
    ...(maxPerMinute !== undefined ? (ramp ? { rate: { maxPerMinute, exponential: ramp } } : { maxNotificationsPerMinute: maxPerMinute }) : {}),
    ...(Object.keys(schedule).length > 0 ? { schedule } : {}),
    ...(maxInFlight !== undefined ? { maxInFlight } : {}),
    ...(maxBlastRadius !== undefined ? { maxBlastRadius } : {}),
    ...(Object.keys(exclude).length > 0 ? { exclude } : {}),
    ...(o.holdRemainder ? { holdRemainder: true } : {}),
    ...(o.dynamic ? { dynamic: true } : {}),
    ...(o.force ? { force: true } : {}),
    start: o.start,
  };
}

/**
 * `--maintenance "0 22 * * MON-FRI 4h Europe/Berlin"`: a cron (five or six fields), a duration
 * (`<n>m` or `<n>h`, never a cron field) and an optional IANA time zone (UTC by default).
 */
export function parseMaintenance(text: string): { cron: string; durationMinutes: number; timeZone?: string } {
  const tokens = text.trim().split(/\s+/);
  const at = tokens.findIndex((t) => /^\d+[mh]$/.test(t));
  const usage = `--maintenance "${text}": give "<cron> <duration> [time zone]", e.g. "0 22 * * MON-FRI 4h Europe/Berlin"`;
  if (at < 5 || at > 6 || tokens.length > at + 2) throw new CliError(CLI_EXIT.usage, 'bad_window', usage);
  const duration = tokens[at]!;
  const minutes = Number(duration.slice(0, -1)) * (duration.endsWith('h') ? 60 : 1);
  return { cron: tokens.slice(0, at).join(' '), durationMinutes: minutes, ...(tokens[at + 1] ? { timeZone: tokens[at + 1]! } : {}) };
}

/** `--ramp 50,2,succeeded:100`: base per minute, increment factor, and what raises it (AWS IoT Jobs' exponentialRate). */
export function parseRamp(text: string): { basePerMinute: number; incrementFactor: number; increaseEvery: { notified: number } | { succeeded: number } } {
  const match = /^(\d+),(\d+(?:\.\d+)?),(notified|succeeded):(\d+)$/.exec(text.trim());
  if (!match) throw new CliError(CLI_EXIT.usage, 'bad_option', `--ramp "${text}": give <base per minute>,<factor>,notified:<n> or succeeded:<n>, e.g. 50,2,succeeded:100`);
  const step = Number(match[4]);
  return { basePerMinute: Number(match[1]), incrementFactor: Number(match[2]), increaseEvery: match[3] === 'notified' ? { notified: step } : { succeeded: step } };
}

/**
 * Redraws the rollout until it completes or aborts (or, unless `follow`, pauses). Under --json
 * it prints one JSON view per line (NDJSON) whenever the view changes, the last one final.
 */
export async function watchRollout(client: ApiClient, id: string, options: { follow?: boolean; intervalMs?: number; json?: boolean } = {}): Promise<RolloutView> {
  const draw = frameWriter(process.stdout);
  let last = '';
  for (;;) {
    const view = await client.request<RolloutView>('GET', `/v1/rollouts/${encodeURIComponent(id)}`);
    if (options.json) {
      // updatedAt moves on every change worth a line; identical polls print nothing.
      const line = JSON.stringify(view);
      if (line !== last) process.stdout.write(`${line}\n`);
      last = line;
    } else {
      draw(renderRollout(view, process.stdout.isTTY));
    }
    if (isFinished(view) || (!options.follow && view.status === 'paused')) return view;
    await sleep(options.intervalMs ?? 500);
  }
}

/** The exit code a watch ends with: 0 completed, 4 paused (an operator must act), 5 aborted. */
export function watchExitCode(view: RolloutView): number {
  if (view.status === 'aborted') return CLI_EXIT.aborted;
  if (view.status === 'paused') return CLI_EXIT.paused;
  return CLI_EXIT.ok;
}

/** Why the server expects some targets to reject the release (set when created with force). */
function preflightWarning(view: RolloutView & { preflight?: { targets: number; willReject: number; releaseSequence: number } }): string | undefined {
  const p = view.preflight;
  if (!p || p.willReject === 0) return undefined;
  return `warning: ${p.willReject} of ${p.targets} target devices already have sequence ${p.releaseSequence} or higher installed and will reject ${view.releaseId} (rollback)`;
}

/** The dry run as text: waves with their first members, exclusions by reason, estimate, bound. */
export function renderPreview(p: RolloutPreview): string[] {
  const ids = (list: { count: number; ids: string[]; truncated: boolean }) => `${list.ids.join(', ')}${list.truncated ? `, … (${list.count - list.ids.length} more)` : ''}`;
  const lines = [`dry run: rollout ${p.id} of ${p.releaseId} (sequence ${p.releaseSequence}, ${p.vendorId}/${p.classId}): nothing written, no one notified`];
  lines.push(`targets: ${p.targets}${p.willReject > 0 ? ` (${p.willReject} already at or above sequence ${p.releaseSequence}: they would reject it)` : ''}`);
  for (const w of p.waves) lines.push(`wave ${w.index + 1}: ${w.size} devices${w.members.count > 0 ? `: ${ids(w.members)}` : ''}`);
  const excluded = Object.entries(p.excluded).filter(([, list]) => list.count > 0);
  if (excluded.length === 0) lines.push('excluded: none');
  for (const [reason, list] of excluded) lines.push(`excluded (${reason}): ${list.count}: ${ids(list)}`);
  lines.push(`estimated duration: at least ${p.estimatedSeconds} s (${p.estimateBasis})`);
  lines.push(`blast radius: at most ${p.blastRadius.bound} devices can install a failing release before the rollout stops (${p.blastRadius.basis})`);
  if (p.refusal) lines.push(`create would be refused: ${p.refusal.message} (${p.refusal.code})`);
  return lines;
}

function summaryRows(rollouts: Array<{ id: string; releaseId: string; status: string; currentWave: number; waveCount: number; total: number; counts: Record<string, number> }>): string[][] {
  return rollouts.map((r) => [r.id, r.releaseId, r.status, `${Math.min(r.currentWave + 1, r.waveCount)}/${r.waveCount}`, String(r.total), String(r.counts.succeeded ?? 0), String(failedCount(r.counts))]);
}

export function registerRolloutsCommands(program: Command): void {
  const rollouts = program.command('rollouts').description('create, watch and steer staged rollouts');

  withApiOptions(rollouts.command('create'))
    .description('create a staged rollout of a release (starts it unless --no-start)')
    .requiredOption('--release <id>', 'release to roll out')
    .option('--id <id>', 'rollout id (default generated)')
    .option('--device <id>', 'target device (repeatable)', collect)
    .option('--group <name>', 'target group (repeatable)', collect)
    .option('--tag <name>', 'target tag (repeatable)', collect)
    .option('--installed-release <id>', 'only devices that have this release installed')
    .option('--query <q>', 'only devices matching this device query, e.g. \'hwrev==B;attributes.freeStorage=gt=100000\' (README: Device queries)')
    .option('--all', 'target every device of the release\'s vendor and class (required when no other target is given)')
    .option('--waves <list>', 'waves: cumulative shares (strictly increasing) and/or counts, ending with 100% or all, e.g. 1%,10%,100% or 5,50,all', '1%,10%,100%')
    .option('--dynamic', 'devices that come to match the target later (registered, re-tagged, attributes changed) join the last wave; the last wave then waits for `rollouts approve`, which closes the rollout')
    .option('--hold-remainder', 'let the waves end below 100%: devices left after the last wave stay out of this rollout')
    .option('--force', 'create even if some targets already run this sequence or a higher one (they will reject it as a rollback)')
    .option('--canary <ids>', 'comma-separated canary device ids: a first wave of exactly these')
    .option('--success-threshold <fraction>', 'share of a wave that must succeed to promote (default 0.9)')
    .option('--failure-threshold <fraction>', 'share of a wave that may fail before the failure action (default 0.1)')
    .option('--bake <seconds>', 'minimum seconds between a wave\'s last notification and its promotion')
    .option('--device-timeout <seconds>', 'seconds a notified device has to finish (default 600)')
    .option('--manual', 'wait for `rollouts approve` before each next wave')
    .option('--policy <mode>', 'auto | optional | forced', 'auto')
    .option('--deadline <time>', 'RFC 3339 UTC time after which a forced update ignores the window')
    .option('--window <HH:MM-HH:MM>', 'maintenance window in UTC (wraps past midnight)')
    .option('--failure-action <action>', 'pause | abort when the failure threshold is crossed', 'pause')
    .option('--max-per-minute <n>', 'cap on devices notified per minute (with --ramp: the ceiling)')
    .option('--ramp <base,factor,trigger>', 'exponential rate: start at <base>/min, multiply by <factor> every notified:<n> or succeeded:<n> devices, e.g. 50,2,succeeded:100')
    .option('--start-at <time>', 'RFC 3339 UTC time to start notifying (scheduled until then)')
    .option('--end-at <time>', 'RFC 3339 UTC time to stop notifying: devices still queued then are canceled (ended)')
    .option('--maintenance <window>', 'notify only inside this window: "<cron> <duration> [time zone]", e.g. "0 22 * * MON-FRI 4h Europe/Berlin" (repeatable)', collect)
    .option('--max-in-flight <n>', 'most devices notified and not yet settled at once (bounds the blast radius)')
    .option('--max-blast-radius <n>', 'refuse to create when the derived blast-radius bound is above n')
    .option('--skip-up-to-date', 'leave out devices already at or above the release\'s sequence')
    .option('--skip-offline-for <seconds>', 'leave out devices offline (or never seen) for longer than this')
    .option('--dry-run', 'compute everything (target, waves and members, exclusions, estimate, blast radius); write nothing, notify no one')
    .option('--no-start', 'create without starting (then `rollouts start`)')
    .option('--watch', 'show live progress until the rollout finishes or pauses (exit 0 completed, 4 paused, 5 aborted)')
    .action(async (options: CreateOptions) => {
      const spec = specFromOptions(options);
      const client = createApiClient(options);
      if (options.dryRun) {
        const preview = await client.request<RolloutPreview>('POST', '/v1/rollouts/preview', { json: spec });
        output(options, preview, () => renderPreview(preview).join('\n'));
        // A spec the server would refuse exits like the refusal would, after showing why.
        if (preview.refusal) process.exitCode = CLI_EXIT.refused;
        return;
      }
      const view = await client.request<RolloutView>('POST', '/v1/rollouts', { json: spec });
      const warning = preflightWarning(view);
      if (warning && !options.json) process.stderr.write(`${warning}\n`);
      if (options.watch) {
        process.exitCode = watchExitCode(await watchRollout(client, view.id, { json: options.json ?? false }));
        return;
      }
      output(options, view, () => renderRollout(view).join('\n'));
    });

  withApiOptions(rollouts.command('list'))
    .description('list rollouts, newest first')
    .option('--limit <n>', 'page size', '50')
    .action(async (options: ApiOptions & { limit: string }) => {
      const page = await createApiClient(options).request<{ rollouts: Parameters<typeof summaryRows>[0] }>('GET', `/v1/rollouts?limit=${Number(options.limit)}`);
      output(options, page, () => table(['ROLLOUT', 'RELEASE', 'STATUS', 'WAVE', 'DEVICES', 'OK', 'FAILED'], summaryRows(page.rollouts)));
    });

  withApiOptions(rollouts.command('show <id>'))
    .description('show one rollout: waves, counts, reasons')
    .action(async (id: string, options: ApiOptions) => {
      const view = await createApiClient(options).request<RolloutView>('GET', `/v1/rollouts/${encodeURIComponent(id)}`);
      output(options, view, () => renderRollout(view).join('\n'));
    });

  withApiOptions(rollouts.command('devices <id>'))
    .description('list devices of a rollout, optionally in one state or wave')
    .option('--state <state>', 'only devices in this state')
    .option('--wave <n>', 'only devices of this wave (1 = the first)')
    .option('--limit <n>', 'page size (1-500)', '100')
    .option('--cursor <cursor>', 'continue from a previous page')
    .action(async (id: string, options: ApiOptions & { state?: string; wave?: string; limit: string; cursor?: string }) => {
      if (!/^\d+$/.test(options.limit) || Number(options.limit) < 1 || Number(options.limit) > 500) throw new CliError(CLI_EXIT.usage, 'bad_option', `--limit ${options.limit} is not a page size from 1 to 500`);
      const query = new URLSearchParams({ limit: options.limit });
      if (options.state) query.set('state', options.state);
      if (options.wave !== undefined) {
        if (!/^\d+$/.test(options.wave) || Number(options.wave) < 1) throw new CliError(CLI_EXIT.usage, 'bad_option', `--wave ${options.wave} is not a wave number (waves count from 1)`);
        query.set('wave', String(Number(options.wave) - 1));
      }
      if (options.cursor) query.set('cursor', options.cursor);
      const page = await createApiClient(options).request<{ devices: Array<{ id: string; state: string; wave: number; progress: number; reason: string }>; cursor?: string }>('GET', `/v1/rollouts/${encodeURIComponent(id)}/devices?${query}`);
      output(options, page, () => `${table(['DEVICE', 'STATE', 'WAVE', 'REASON'], page.devices.map((d) => [d.id, d.state, String(d.wave + 1), d.reason || '-']))}${page.cursor ? `\nmore: --cursor ${page.cursor}` : ''}`);
    });

  withApiOptions(rollouts.command('watch <id>'))
    .description('live progress per wave until the rollout finishes (or pauses, unless --follow)')
    .option('--follow', 'keep watching through pauses')
    .action(async (id: string, options: ApiOptions & { follow?: boolean }) => {
      const view = await watchRollout(createApiClient(options), id, { follow: options.follow ?? false, json: options.json ?? false });
      process.exitCode = watchExitCode(view);
    });

  for (const action of ['start', 'pause', 'resume', 'abort', 'approve'] as const) {
    const command = withApiOptions(rollouts.command(`${action} <id>`)).description(
      { start: 'start a created rollout', pause: 'pause notifying (devices already notified continue)', resume: 'resume a paused rollout (after a threshold pause, accepts the current wave as it stands)', abort: 'abort: cancel pending devices, send a signed cancel to notified ones', approve: 'approve promotion of the current wave of a running manual rollout (refused otherwise: a paused rollout continues with resume)' }[action],
    );
    if (action === 'pause' || action === 'abort') command.option('--reason <text>', 'why (shown on the dashboard)');
    command.action(async (id: string, options: ApiOptions & { reason?: string }) => {
      const view = await createApiClient(options).request<RolloutView>('POST', `/v1/rollouts/${encodeURIComponent(id)}/${action}`, { json: options.reason ? { reason: options.reason } : {} });
      output(options, view, () => renderRollout(view).join('\n'));
    });
  }

  withApiOptions(rollouts.command('rollback <id>'))
    .description('roll a bad release back by rolling forward: re-release a previous image under a higher sequence')
    .option('--to <releaseId>', 'the release whose image to bring back (default: the newest one below the rolled-out release)')
    .option('--release-key <file>', 'release private key file (repeatable up to the threshold); without it, prints the offline steps', collect)
    .option('--new-release-id <id>', 'id of the re-release (default <to>-rb<sequence>)')
    .option('--waves <list>', 'waves of the roll-forward rollout', '10%,100%')
    .option('--yes', 'abort the bad rollout if it is still running, without asking')
    .action(async (id: string, options: ApiOptions & { to?: string; releaseKey?: string[]; newReleaseId?: string; waves: string; yes?: boolean }) => {
      await rollback(createApiClient(options), id, options);
    });
}

async function rollback(client: ApiClient, id: string, options: ApiOptions & { to?: string; releaseKey?: string[]; newReleaseId?: string; waves: string; yes?: boolean }): Promise<void> {
  const bad = await client.request<RolloutView>('GET', `/v1/rollouts/${encodeURIComponent(id)}`);
  const badRelease = await client.request<ReleaseInfo>('GET', `/v1/releases/${encodeURIComponent(bad.releaseId)}`);
  const { vendorId, classId } = badRelease;
  const list = await client.request<{ releases: ReleaseInfo[] }>('GET', `/v1/releases?vendorId=${vendorId}&classId=${classId}&limit=200`);
  const releases = list.releases;
  const target = options.to
    ? releases.find((r) => r.releaseId === options.to)
    : releases.filter((r) => r.sequence < badRelease.sequence).sort((a, b) => b.sequence - a.sequence)[0];
  if (!target) throw new CliError(CLI_EXIT.usage, 'no_previous_release', options.to ? `no release ${options.to} for ${vendorId}/${classId}` : `no release of ${vendorId}/${classId} below sequence ${badRelease.sequence} to roll back to`);
  const full = await client.request<ReleaseInfo & { envelope: ReleaseEnvelope }>('GET', `/v1/releases/${encodeURIComponent(target.releaseId)}`);
  // Anti-rollback is never switched off: the old image comes back under a new, higher sequence.
  const sequence = Math.max(...releases.map((r) => r.sequence)) + 1;
  const releaseId = options.newReleaseId ?? `${target.releaseId}-rb${sequence}`.slice(0, 64);
  const version = `${target.version.split('+')[0]}+rollback.${sequence}`;
  const payload = full.envelope.signed.payload;
  const say = (text: string) => process.stdout.write(`${text}\n`);

  say(`Rolling ${vendorId}/${classId} back from ${bad.releaseId} (sequence ${badRelease.sequence}) to the image of ${target.releaseId} (sequence ${target.sequence}).`);
  say(`Devices never install a lower sequence, so the image is re-released as ${releaseId}, version ${version}, sequence ${sequence}.`);
  if (!isFinished(bad)) {
    if (!options.yes) throw new CliError(CLI_EXIT.usage, 'rollout_active', `rollout ${id} is ${bad.status}; abort it first (fleet-ota rollouts abort ${id}) or pass --yes`);
    await client.request('POST', `/v1/rollouts/${encodeURIComponent(id)}/abort`, { json: { reason: `rolled back to ${target.releaseId}` } });
    say(`1. aborted ${id}`);
  }
  if (!options.releaseKey?.length) {
    say('The release is signed offline with release keys. On the signing machine run:');
    say(`  fleet-ota keys sign-release --key <release key file> --sha256 ${payload.sha256} --size ${payload.size} --uri ${payload.uri} \\`);
    say(`    --release-id ${releaseId} --version ${version} --sequence ${sequence} --vendor ${vendorId} --class ${classId} --out ${releaseId}.json`);
    say('Then, here:');
    say(`  fleet-ota releases import ${releaseId}.json`);
    say(`  fleet-ota rollouts create --release ${releaseId} --waves ${options.waves} --watch`);
    return;
  }
  const keys = await Promise.all(options.releaseKey.map((file) => readPrivateKeyFile(file, 'release')));
  const body = buildReleaseBody({ releaseId, version, sequence, vendorId, classId, payload, createdAt: formatWireTime(Date.now() / 1000) });
  await importRelease(client, signRelease(body, keys, nodeEd25519));
  say(`2. signed and imported ${releaseId}`);
  // A rollout stored before targets had to be explicit may carry an empty one: the whole fleet.
  const sameTarget = Object.keys(bad.spec.target).length > 0 ? bad.spec.target : { all: true as const };
  const created = await client.request<RolloutView>('POST', '/v1/rollouts', { json: { releaseId, target: sameTarget, waves: parseWaves(options.waves, {}) } });
  say(`3. started rollout ${created.id}`);
  if (!options.json) process.exitCode = watchExitCode(await watchRollout(client, created.id));
}
