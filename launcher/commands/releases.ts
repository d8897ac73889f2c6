// `fleet-ota releases upload|import|list|show`: artifacts and release manifests through the
// HTTP API. Manifests are signed offline (`fleet-ota keys sign-release`); this only imports them.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import type { Payload } from '../../protocol/index.js';
import type { StoredRelease } from '../../orchestrator/releases/release-store.js';
import { importRelease, uploadArtifact, type StoredArtifactInfo } from '../../api-client/index.js';
import { byteProgress, CLI_EXIT, CliError, createApiClient, output, readJsonFile, table, withApiOptions, type ApiOptions } from '../cli-support.js';

/** A release as the API answers it: the stored release, with its envelope (show) or its payload (list). */
type ReleaseSummary = Omit<StoredRelease, 'envelope'> & Partial<Pick<StoredRelease, 'envelope'>> & { payload?: Payload };

function showRelease(r: ReleaseSummary): string {
  const payload = r.payload ?? r.envelope?.signed.payload;
  return [
    `release      ${r.releaseId}`,
    `version      ${r.version}`,
    `class        ${r.vendorId}/${r.classId}`,
    `sequence     ${r.sequence}${r.envelope?.signed.minSequence !== undefined ? ` (min ${r.envelope.signed.minSequence})` : ''}`,
    `digest       ${r.digest}`,
    `payload      ${payload ? `${payload.sha256} (${payload.size} bytes)` : '-'}`,
    `uri          ${payload?.uri ?? '-'}`,
    `imported     ${r.importedAt}`,
    ...(r.envelope ? [`signatures   ${r.envelope.signatures.length}`, `expires      ${r.envelope.signed.expiresAt ?? 'never'}`] : []),
  ].join('\n');
}

export function registerReleasesCommands(program: Command): void {
  const releases = program.command('releases').description('upload artifacts, import signed release manifests, list and show releases');

  withApiOptions(releases.command('upload <artifact>'))
    .description('upload an artifact (streamed); prints its sha256, size and the uri for payload.uri')
    .action(async (artifact: string, options: ApiOptions) => {
      const info = await stat(artifact).catch(() => undefined);
      if (!info?.isFile()) throw new CliError(CLI_EXIT.usage, 'file_not_found', `${artifact} is not a readable file`);
      const progress = byteProgress(options, info.size, 'upload');
      let stored: StoredArtifactInfo;
      try {
        stored = await uploadArtifact(createApiClient(options), { stream: createReadStream(artifact), length: info.size, onProgress: progress.update });
      } finally {
        progress.stop();
      }
      output(options, stored, () => `sha256  ${stored.sha256}\nsize    ${stored.size}\nuri     ${stored.uri}`);
    });

  withApiOptions(releases.command('import <manifest>'))
    .description('import a release manifest signed offline (JSON envelope from `fleet-ota keys sign-release`)')
    .action(async (manifest: string, options: ApiOptions) => {
      const envelope = await readJsonFile(manifest);
      const release = await importRelease(createApiClient(options), envelope);
      output(options, release, () => `imported ${release.releaseId} (${release.vendorId}/${release.classId} ${release.version}, sequence ${release.sequence})\ndigest ${release.digest}`);
    });

  withApiOptions(releases.command('list'))
    .description('list releases, newest first')
    .option('--vendor <vendorId>', 'only this vendor')
    .option('--class <classId>', 'only this class')
    .option('--limit <n>', 'at most this many (1-1000)', '100')
    .action(async (options: ApiOptions & { vendor?: string; class?: string; limit: string }) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.vendor) query.set('vendorId', options.vendor);
      if (options.class) query.set('classId', options.class);
      const { releases: list } = await createApiClient(options).request<{ releases: ReleaseSummary[] }>('GET', `/v1/releases?${query}`);
      output(options, { releases: list }, () =>
        list.length === 0 ? 'no releases' : table(['RELEASE', 'VERSION', 'CLASS', 'SEQUENCE', 'IMPORTED'], list.map((r) => [r.releaseId, r.version, `${r.vendorId}/${r.classId}`, String(r.sequence), r.importedAt])),
      );
    });

  withApiOptions(releases.command('show <releaseId>'))
    .description('show a release: manifest fields, digest, payload')
    .action(async (releaseId: string, options: ApiOptions) => {
      const release = await createApiClient(options).request<ReleaseSummary>('GET', `/v1/releases/${encodeURIComponent(releaseId)}`);
      output(options, release, () => showRelease(release));
    });
}
