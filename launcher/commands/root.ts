// `fleet-ota root publish|list`: publish a root version signed offline (`fleet-ota keys
// sign-root`) and read the chain devices provision from.
import type { Command } from 'commander';
import { createApiClient, output, readJsonFile, table, withApiOptions, type ApiOptions } from '../api-client.js';

interface RootEnvelope {
  signed: { version: number; expiresAt: string; roles: Record<string, { keyids: string[]; threshold: number }> };
  signatures: unknown[];
}

export function registerRootCommands(program: Command): void {
  const root = program.command('root').description('publish root versions and read the root chain');

  withApiOptions(root.command('publish <root-file>'))
    .description('publish a root (root.N.json): the first verifies by itself, later ones against the current root')
    .action(async (file: string, options: ApiOptions) => {
      const envelope = await readJsonFile(file);
      const published = await createApiClient(options).request<RootEnvelope>('POST', '/v1/roots', { json: envelope });
      output(options, published, () => `published root v${published.signed.version} (expires ${published.signed.expiresAt})`);
    });

  withApiOptions(root.command('list'))
    .description('the root chain, oldest first')
    .action(async (options: ApiOptions) => {
      const { roots } = await createApiClient(options).request<{ roots: RootEnvelope[] }>('GET', '/v1/roots');
      output(options, { roots }, () =>
        roots.length === 0
          ? 'no root published'
          : table(['VERSION', 'EXPIRES', 'ROOT', 'RELEASE', 'DIRECTOR'], roots.map((r) => {
            const role = (name: string) => `${r.signed.roles[name]?.threshold ?? '?'} of ${r.signed.roles[name]?.keyids.length ?? '?'}`;
            return [String(r.signed.version), r.signed.expiresAt, role('root'), role('release'), role('director')];
          })),
      );
    });
}
