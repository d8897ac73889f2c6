// The audit page (#/audit): operator actions from GET /v1/audit, newest first, with an action
// filter and "older" paging by the API's cursor. Actors appear by token label and id only.
import type { AuditEntry } from '../../audit/audit-log.js';
import { AUDIT_ACTIONS } from '../../audit/audit-log.js';
import { api, el, enc, failed, fillRows, h, link, td, when } from './core.js';

const AUDIT_PAGE = 50;

let cursor: string | undefined;

function actor(entry: AuditEntry): string {
  const { actor: a } = entry;
  if (a.via === 'cli') return `CLI ${a.label ?? ''}`.trim();
  return a.label ? `${a.label} (${a.tokenId ?? '?'})` : (a.tokenId ?? '?');
}

/** Rollouts and devices have pages: their targets link there. */
function target(entry: AuditEntry): HTMLElement | string {
  if (entry.action.startsWith('rollout.') && entry.target) return link(entry.target, `#/rollouts/${enc(entry.target)}`);
  if (entry.action.startsWith('device.') && entry.action !== 'device.import' && entry.target) return link(entry.target, `#/devices/${enc(entry.target)}`);
  if (entry.action === 'release.import' && entry.target) return link(entry.target, `#/releases/${enc(entry.target)}`);
  return entry.target;
}

export function initAudit(): void {
  const select = el<HTMLSelectElement>('audit-action');
  for (const action of AUDIT_ACTIONS) select.append(h('option', action, { value: action }));
  select.addEventListener('change', () => void showAudit());
  el('audit-older').addEventListener('click', () => void showAudit(cursor));
}

export async function showAudit(before?: string): Promise<void> {
  el('crumb').textContent = '/ audit';
  const query = new URLSearchParams({ limit: String(AUDIT_PAGE) });
  const action = el<HTMLSelectElement>('audit-action').value;
  if (action) query.set('action', action);
  if (before) query.set('before', before);
  const page = await api<{ entries: AuditEntry[]; next?: string }>(`/v1/audit?${query}`).catch(failed('Audit log'));
  if (!page) return;
  cursor = page.next;
  el<HTMLButtonElement>('audit-older').hidden = !page.next;
  fillRows('audit-table', page.entries.map((e) => h('tr', null, { 'data-testid': 'audit-row' },
    td(when(e.at)),
    td(actor(e)),
    td(e.action, { 'data-testid': 'audit-action-cell' }),
    td(target(e)),
    td(e.reason ?? ''))), before ? 'No older entries.' : 'No operator actions recorded yet.');
}
