// `fleet-ota root publish|list`: publish a root version signed offline (`fleet-ota keys
// sign-root`) and read the chain devices provision from.
import type { Command } from 'commander';
import { listRoots, publishRoot } from '../../api-client/index.js';
import { createApiClient, output, readJsonFile, table, withApiOptions, type ApiOptions } from '../cli-support.js';

export function registerRootCommands(program: Command): void {
  const root = program.command('root').description('publish root versions and read the root chain');

  withApiOptions(root.command('publish <root-file>'))
    .description('publish a root (root.N.json): the first verifies by itself, later ones against the current root')
    .action(async (file: string, options: ApiOptions) => {
      const envelope = await readJsonFile(file);
      const published = await publishRoot(createApiClient(options), envelope);
      output(options, published, () => `published root v${published.signed.version} (expires ${published.signed.expiresAt})`);
    });

  withApiOptions(root.command('list'))
    .description('the root chain, oldest first')
    .action(async (options: ApiOptions) => {
      const roots = await listRoots(createApiClient(options));
      output(options, { roots }, () =>
        roots.length === 0
          ? 'no root published'
          : table(['VERSION', 'EXPIRES', 'ROOT', 'RELEASE', 'DIRECTOR'], roots.map((r) => {
            // As served, not verified: a malformed entry prints '?' rather than failing the listing.
            const roles = r.signed.roles as Partial<Record<string, { keyids: string[]; threshold: number }>>;
            const role = (name: string) => `${roles[name]?.threshold ?? '?'} of ${roles[name]?.keyids.length ?? '?'}`;
            return [String(r.signed.version), r.signed.expiresAt, role('root'), role('release'), role('director')];
          })),
      );
    });
}
