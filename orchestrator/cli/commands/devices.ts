// `fleet-ota devices import|list|show|revoke`: the device registry through the HTTP API.
// An import streams the file (progress bar on a terminal) and exits 3 if any line was refused.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Option, type Command } from 'commander';
import type { DeviceRecord } from '../../registry/device-record.js';
import { byteProgress, CLI_EXIT, CliError, createApiClient, output, table, withApiOptions, type ApiOptions } from '../api-client.js';

/** A device as the API answers it: the registry's record. */
type Device = DeviceRecord;

interface ImportResult {
  imported: number;
  failedCount: number;
  failed: Array<{ line: number; code: string; message: string }>;
}

const CONTENT_TYPES = { ndjson: 'application/x-ndjson', csv: 'text/csv' } as const;

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
    `public key   ${d.publicKey}`,
    `revoked      ${d.revoked ? `yes (${d.revokedAt ?? 'time unknown'})` : 'no'}`,
    `registered   ${d.createdAt}`,
    `installed    ${d.installedReleaseId ? `${d.installedReleaseId} (sequence ${d.installedSequence ?? '?'})` : '-'}`,
    `last status  ${d.lastStatus ? `${d.lastStatus.state}${d.lastStatus.reason ? ` (${d.lastStatus.reason})` : ''} in ${d.lastStatus.rolloutId} at ${d.lastStatus.at}` : '-'}`,
    `last seen    ${d.lastSeenAt ?? '-'}`,
    `presence     ${d.presence ?? 'unknown'}`,
  ];
  return lines.join('\n');
}

export function registerDevicesCommands(program: Command): void {
  const devices = program.command('devices').description('register, list, show and revoke devices');

  withApiOptions(devices.command('import <file>'))
    .description('bulk import devices from NDJSON ({"id","publicKey","vendorId","classId","groups":[],"tags":[]} per line) or CSV (header id,publicKey,vendorId,classId,groups,tags; groups and tags ;-separated). Exit 3 if any line was refused.')
    .addOption(new Option('--format <format>', 'file format (default: from the extension, .csv is CSV, anything else NDJSON)').choices(['ndjson', 'csv']))
    .action(async (file: string, options: ApiOptions & { format?: 'ndjson' | 'csv' }) => {
      const format = options.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'ndjson');
      const size = await fileSize(file);
      const client = createApiClient(options);
      const progress = byteProgress(options, size, 'import');
      let result: ImportResult;
      try {
        result = await client.request<ImportResult>('POST', '/v1/devices/import', {
          stream: createReadStream(file),
          contentType: CONTENT_TYPES[format],
          length: size,
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
      }
      output(options, result, () => {
        const lines = [`imported ${result.imported} device${result.imported === 1 ? '' : 's'}; ${result.failedCount} line${result.failedCount === 1 ? '' : 's'} refused`];
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
    .option('--limit <n>', 'page size (1-1000)', '100')
    .option('--cursor <id>', 'continue after this id')
    .option('--all', 'follow the cursor to the end')
    .action(async (options: ApiOptions & { group?: string; tag?: string; vendor?: string; class?: string; installed?: string; revoked?: boolean; limit: string; cursor?: string; all?: boolean }) => {
      const client = createApiClient(options);
      const query = new URLSearchParams({ limit: options.limit });
      for (const [name, value] of [['group', options.group], ['tag', options.tag], ['vendorId', options.vendor], ['classId', options.class], ['installedReleaseId', options.installed]] as const) {
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

  withApiOptions(devices.command('revoke <id>'))
    .description('revoke a device: the broker drops its connection and refuses it from now on')
    .action(async (id: string, options: ApiOptions) => {
      const device = await createApiClient(options).request<Device>('POST', `/v1/devices/${encodeURIComponent(id)}/revoke`);
      output(options, device, () => `revoked ${device.id}`);
    });
}
