// `fleet-ota audit`: the operator actions from GET /v1/audit, newest first, with filters and
// paging (--before takes the `next` a previous page printed).
import type { Command } from 'commander';
import type { AuditEntry } from '../../orchestrator/audit/audit-log.js';
import { createApiClient, output, table, withApiOptions, type ApiOptions } from '../cli-support.js';

function actorName(entry: AuditEntry): string {
  const { actor } = entry;
  if (actor.via === 'cli') return `cli ${actor.label ?? ''}`.trim();
  return actor.label ? `${actor.label} (${actor.tokenId ?? '?'})` : (actor.tokenId ?? '?');
}

export function registerAuditCommands(program: Command): void {
  withApiOptions(program.command('audit'))
    .description('operator actions, newest first: time, actor (token label and id), action, target, reason')
    .option('--action <action>', 'only this action (e.g. rollout.pause, token.revoke)')
    .option('--target <target>', 'only this target (a rollout, device, release or token id)')
    .option('--limit <n>', 'at most this many (1-200)', '50')
    .option('--before <id>', 'entries older than this entry id (the "next" of a previous page)')
    .action(async (options: ApiOptions & { action?: string; target?: string; limit: string; before?: string }) => {
      const query = new URLSearchParams({ limit: options.limit });
      if (options.action) query.set('action', options.action);
      if (options.target) query.set('target', options.target);
      if (options.before) query.set('before', options.before);
      const page = await createApiClient(options).request<{ entries: AuditEntry[]; next?: string }>('GET', `/v1/audit?${query}`);
      output(options, page, () => {
        if (page.entries.length === 0) return 'no audit entries';
        const rows = table(['TIME', 'ACTOR', 'ACTION', 'TARGET', 'REASON'], page.entries.map((e) => [e.at, actorName(e), e.action, e.target, e.reason ?? '']));
        return page.next ? `${rows}\n(older: --before ${page.next})` : rows;
      });
    });
}
