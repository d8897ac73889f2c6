// `fleet-ota devices import|list|show|update|revoke|keygen`: the device registry through the
// HTTP API. An import streams the file (progress bar on a terminal) and exits 3 if any line was
// refused (--upsert updates devices it repeats). keygen makes a device's identity offline.
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Option, type Command } from 'commander';
import { encodePublicKey, isDeviceId, isNameId, rootEnvelope } from '../../protocol/index.js';
import { generateSigningKey, writeFileAtomic, writePrivateKeyFile } from '../../orchestrator/keys/key-file.js';
import type { DeviceRecord } from '../../state/device-record.js';
import { importDevices, type DeviceImportResult } from '../../api-client/index.js';
import { byteProgress, CLI_EXIT, CliError, createApiClient, output, table, withApiOptions, type ApiOptions } from '../cli-support.js';

/** A device as the API answers it: the registry's record. */
type Device = DeviceRecord;

async function fileSize(path: string): Promise<number> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new CliError(CLI_EXIT.usage, 'file_not_found', `${path} is not a readable file`);
  return info.size;
}

function showDevice(d: Device): string {
  const lines = [
    `id           ${d.id}`,
    `class        ${d.vendorId}/${d.classId}`,
    `groups       ${d.groups.join(', ') || '-'}`,
    `tags         ${d.tags.join(', ') || '-'}`,
    `attributes   ${Object.entries(d.attributes ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}`,
    `reported     ${Object.entries(d.reportedAttributes ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') || '-'}${d.reportedAt ? ` (at ${d.reportedAt})` : ''}`,
    `public key   ${d.publicKey}`,
    `revoked      ${d.revoked ? `yes (${d.revokedAt ?? 'time unknown'})` : 'no'}`,
    `registered   ${d.createdAt}`,
    `installed    ${d.installedReleaseId ? `${d.installedReleaseId} (sequence ${d.installedSequence ?? '?'})` : '-'}`,
    `last status  ${d.lastStatus ? `${d.lastStatus.state}${d.lastStatus.reason ? ` (${d.lastStatus.reason})` : ''} in ${d.lastStatus.rolloutId} at ${d.lastStatus.at}` : '-'}`,
    `last seen    ${d.lastSeenAt ?? '-'}`,
    `presence     ${d.presence ?? 'unknown'}`,
    `refused      ${d.statusRefused ? `${d.statusRefusedCount ?? 1} report(s); last ${d.statusRefused.reason}: epoch ${d.statusRefused.epoch} seq ${d.statusRefused.seq} after epoch ${d.statusRefused.lastEpoch} seq ${d.statusRefused.lastSeq}, at ${d.statusRefused.at}` : '-'}`,
  ];
  return lines.join('\n');
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** Files of a provisioning bundle (README: Onboarding a device). */
export const BUNDLE_FILES = { key: 'device.key', registration: 'device.json', root: 'root.json', provision: 'provision.json' } as const;

async function keygen(o: { id: string; vendor: string; class: string; out: string; group?: string[]; tag?: string[]; root?: string; broker?: string; json?: boolean }): Promise<void> {
  if (!isDeviceId(o.id)) throw new CliError(CLI_EXIT.usage, 'invalid_device_id', '--id must match [A-Za-z0-9_-]{1,64}');
  if (!isNameId(o.vendor) || !isNameId(o.class)) throw new CliError(CLI_EXIT.usage, 'bad_option', '--vendor and --class match [A-Za-z0-9._-]{1,64}');
  for (const name of [...(o.group ?? []), ...(o.tag ?? [])]) {
    if (!isNameId(name)) throw new CliError(CLI_EXIT.usage, 'bad_option', `group or tag ${name} does not match [A-Za-z0-9._-]{1,64}`);
  }
  if (o.broker && !/^(mqtts?|wss?):\/\//.test(o.broker)) throw new CliError(CLI_EXIT.usage, 'bad_option', '--broker is an mqtt(s):// or ws(s):// URL');
  let rootText: string | undefined;
  if (o.root) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(o.root, 'utf8'));
    } catch {
      throw new CliError(CLI_EXIT.usage, 'bad_root', `cannot read ${o.root} as JSON`);
    }
    if (!rootEnvelope.safeParse(parsed).success) throw new CliError(CLI_EXIT.usage, 'bad_root', `${o.root} is not a signed root (root.N.json)`);
    rootText = `${JSON.stringify(parsed, null, 2)}\n`;
  }
  const keyPath = join(o.out, BUNDLE_FILES.key);
  if (await stat(keyPath).then(() => true, () => false)) throw new CliError(CLI_EXIT.usage, 'exists', `${keyPath} exists: one identity per bundle, never overwritten`);
  await mkdir(o.out, { recursive: true, mode: 0o700 });
  const key = generateSigningKey();
  await writePrivateKeyFile(keyPath, 'device', key);
  const registration = { id: o.id, publicKey: encodePublicKey(key.publicKey), vendorId: o.vendor, classId: o.class, groups: o.group ?? [], tags: o.tag ?? [] };
  // One line: the file is a valid NDJSON import as it stands.
  await writeFileAtomic(join(o.out, BUNDLE_FILES.registration), `${JSON.stringify(registration)}\n`, 0o644);
  if (rootText) await writeFileAtomic(join(o.out, BUNDLE_FILES.root), rootText, 0o644);
  const provision = {
    deviceId: o.id, vendorId: o.vendor, classId: o.class, keyFile: BUNDLE_FILES.key,
    ...(rootText ? { rootFile: BUNDLE_FILES.root } : {}), ...(o.broker ? { brokerUrl: o.broker } : {}),
  };
  await writeFileAtomic(join(o.out, BUNDLE_FILES.provision), `${JSON.stringify(provision, null, 2)}\n`, 0o644);
  const summary = { ...provision, publicKey: registration.publicKey, dir: o.out };
  process.stdout.write(o.json ? `${JSON.stringify(summary, null, 2)}\n` : [
    `device ${o.id}: public key ${registration.publicKey}`,
    `bundle ${o.out}: ${BUNDLE_FILES.key} (private, 0600), ${BUNDLE_FILES.registration}${rootText ? `, ${BUNDLE_FILES.root}` : ''}, ${BUNDLE_FILES.provision}`,
    `register it: fleet-ota devices import ${join(o.out, BUNDLE_FILES.registration)}`,
  ].join('\n') + '\n');
}

export function registerDevicesCommands(program: Command): void {
  const devices = program.command('devices').description('register, list, show and revoke devices');

  withApiOptions(devices.command('import <file>'))
    .description('bulk import devices from NDJSON ({"id","publicKey","vendorId","classId","groups":[],"tags":[]} per line) or CSV (header id,publicKey,vendorId,classId,groups,tags; groups and tags ;-separated). Exit 3 if any line was refused.')
    .addOption(new Option('--format <format>', 'file format (default: from the extension, .csv is CSV, anything else NDJSON)').choices(['ndjson', 'csv']))
    .option('--upsert', 'a line for a registered device (same key, vendor and class) replaces its groups and tags instead of being refused; a different key is still refused')
    .action(async (file: string, options: ApiOptions & { format?: 'ndjson' | 'csv'; upsert?: boolean }) => {
      const format = options.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'ndjson');
      const size = await fileSize(file);
      const client = createApiClient(options);
      const progress = byteProgress(options, size, 'import');
      let result: DeviceImportResult;
      try {
        result = await importDevices(client, { stream: createReadStream(file), length: size, onProgress: progress.update }, { format, ...(options.upsert ? { upsert: true } : {}) });
      } finally {
        progress.stop();
      }
      output(options, result, () => {
        const updated = result.updated !== undefined ? `, updated ${result.updated}` : '';
        const lines = [`imported ${result.imported} device${result.imported === 1 ? '' : 's'}${updated}; ${result.failedCount} line${result.failedCount === 1 ? '' : 's'} refused`];
        for (const f of result.failed) lines.push(`  line ${f.line}: ${f.code}: ${f.message}`);
        if (result.failedCount > result.failed.length) lines.push(`  ... and ${result.failedCount - result.failed.length} more`);
        return lines.join('\n');
      });
      if (result.failedCount > 0) process.exitCode = CLI_EXIT.refused;
    });

  withApiOptions(devices.command('list'))
    .description('list devices in id order (one page; --all follows the cursor)')
    .option('--group <group>', 'only this group')
    .option('--tag <tag>', 'only this tag')
    .option('--vendor <vendorId>', 'only this vendor')
    .option('--class <classId>', 'only this class')
    .option('--installed <releaseId>', 'only devices that reported this installed release')
    .option('--revoked', 'only revoked devices')
    .option('--query <q>', 'device query, e.g. \'hwrev==B;attributes.freeStorage=gt=100000;tag=in=(eu,beta)\' (README: Device queries)')
    .option('--limit <n>', 'page size (1-1000)', '100')
    .option('--cursor <id>', 'continue after this id')
    .option('--all', 'follow the cursor to the end')
    .action(async (options: ApiOptions & { group?: string; tag?: string; vendor?: string; class?: string; installed?: string; revoked?: boolean; query?: string; limit: string; cursor?: string; all?: boolean }) => {
      const client = createApiClient(options);
      const query = new URLSearchParams({ limit: options.limit });
      for (const [name, value] of [['group', options.group], ['tag', options.tag], ['vendorId', options.vendor], ['classId', options.class], ['installedReleaseId', options.installed], ['q', options.query]] as const) {
        if (value !== undefined) query.set(name, value);
      }
      if (options.revoked) query.set('revoked', 'true');
      const all: Device[] = [];
      let cursor = options.cursor ?? null;
      let nextCursor: string | null = null;
      do {
        if (cursor) query.set('cursor', cursor);
        const page = await client.request<{ devices: Device[]; nextCursor: string | null }>('GET', `/v1/devices?${query}`);
        all.push(...page.devices);
        nextCursor = page.nextCursor;
        cursor = nextCursor;
      } while (options.all && cursor);
      output(options, { devices: all, nextCursor }, () => {
        const rows = all.map((d) => [d.id, `${d.vendorId}/${d.classId}`, d.groups.join(',') || '-', d.installedReleaseId ?? '-', d.presence ?? '-', d.revoked ? 'revoked' : '']);
        const text = all.length > 0 ? table(['ID', 'CLASS', 'GROUPS', 'INSTALLED', 'PRESENCE', ''], rows) : 'no devices';
        return nextCursor ? `${text}\n(more: --cursor ${nextCursor})` : text;
      });
    });

  withApiOptions(devices.command('show <id>'))
    .description('show one device: record, installed release, last status, presence')
    .action(async (id: string, options: ApiOptions) => {
      const device = await createApiClient(options).request<Device>('GET', `/v1/devices/${encodeURIComponent(id)}`);
      output(options, device, () => showDevice(device));
    });

  withApiOptions(devices.command('update <id>'))
    .description('change a device: --group/--tag replace the lists, --attr merges attributes (PATCH /v1/devices/:id)')
    .option('--group <name>', 'the device\'s groups become these (repeatable)', collect)
    .option('--tag <name>', 'the device\'s tags become these (repeatable)', collect)
    .option('--clear-groups', 'remove every group')
    .option('--clear-tags', 'remove every tag')
    .option('--attr <name=value>', 'set an attribute (repeatable)', collect)
    .option('--unset-attr <name>', 'remove an attribute (repeatable)', collect)
    .action(async (id: string, options: ApiOptions & { group?: string[]; tag?: string[]; clearGroups?: boolean; clearTags?: boolean; attr?: string[]; unsetAttr?: string[] }) => {
      const patch: { groups?: string[]; tags?: string[]; attributes?: Record<string, string | null> } = {};
      if (options.group && options.clearGroups) throw new CliError(CLI_EXIT.usage, 'bad_option', '--group and --clear-groups contradict each other');
      if (options.tag && options.clearTags) throw new CliError(CLI_EXIT.usage, 'bad_option', '--tag and --clear-tags contradict each other');
      if (options.group || options.clearGroups) patch.groups = options.group ?? [];
      if (options.tag || options.clearTags) patch.tags = options.tag ?? [];
      const attributes: Record<string, string | null> = {};
      for (const pair of options.attr ?? []) {
        const eq = pair.indexOf('=');
        if (eq < 1) throw new CliError(CLI_EXIT.usage, 'bad_option', `--attr ${pair} is not name=value`);
        attributes[pair.slice(0, eq)] = pair.slice(eq + 1);
      }
      for (const name of options.unsetAttr ?? []) attributes[name] = null;
      if (Object.keys(attributes).length > 0) patch.attributes = attributes;
      if (Object.keys(patch).length === 0) throw new CliError(CLI_EXIT.usage, 'bad_option', 'nothing to change: give --group, --tag, --clear-groups, --clear-tags, --attr or --unset-attr');
      const device = await createApiClient(options).request<Device>('PATCH', `/v1/devices/${encodeURIComponent(id)}`, { json: patch });
      output(options, device, () => showDevice(device));
    });

  devices.command('keygen')
    .description('make a device identity offline: a private key (0600) and the registration line, plus the root and broker URL as a provisioning bundle for a device port')
    .requiredOption('--id <deviceId>', 'device id ([A-Za-z0-9_-]{1,64}); also its MQTT clientId and username')
    .requiredOption('--vendor <vendorId>', 'vendorId the device reports and releases are signed for')
    .requiredOption('--class <classId>', 'classId the device reports and releases are signed for')
    .requiredOption('--out <dir>', 'bundle directory (created 0700; an existing device.key is never overwritten)')
    .option('--group <name>', 'group of the registration line (repeatable)', collect)
    .option('--tag <name>', 'tag of the registration line (repeatable)', collect)
    .option('--root <file>', 'root.N.json to provision as the trust anchor (copied into the bundle)')
    .option('--broker <url>', 'MQTT broker URL the device connects to')
    .option('--json', 'print JSON')
    .action(async (options: { id: string; vendor: string; class: string; out: string; group?: string[]; tag?: string[]; root?: string; broker?: string; json?: boolean }) => {
      await keygen(options);
    });

  withApiOptions(devices.command('revoke <id>'))
    .description('revoke a device: the broker drops its connection and refuses it from now on')
    .action(async (id: string, options: ApiOptions) => {
      const device = await createApiClient(options).request<Device>('POST', `/v1/devices/${encodeURIComponent(id)}/revoke`);
      output(options, device, () => `revoked ${device.id}`);
    });
}
