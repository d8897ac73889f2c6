// Releases (#/releases) and one release (#/releases/:id): the signed manifest, its signatures,
// and which key ids signed, named against the current root's release role. The server checked
// the signatures at import (a threshold of the root's release keys); the console does not
// re-verify them, it shows who signed.
import type { RootEnvelope } from '../../../protocol/schemas/root.js';
import type { ReleaseSummary, StoredRelease } from '../../releases/release-store.js';
import { api, ApiFailure, el, enc, failed, fillKv, fillRows, h, link, td, when } from './core.js';

const RELEASES_LISTED = 100;

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

export async function showReleases(): Promise<void> {
  el('crumb').textContent = '/ releases';
  const result = await api<{ releases: ReleaseSummary[] }>(`/v1/releases?limit=${RELEASES_LISTED}`).catch(failed('Releases'));
  if (!result) return;
  fillRows('releases-table', result.releases.map((r) => h('tr', null, { 'data-testid': `release-row-${r.releaseId}` },
    td(link(r.releaseId, `#/releases/${enc(r.releaseId)}`)),
    td(r.version),
    td(r.sequence, { class: 'num' }),
    td(`${r.vendorId} / ${r.classId}`),
    td(size(r.payload.size), { class: 'num' }),
    td(r.digest.slice(0, 16), { title: r.digest, class: 'mono' }),
    td(when(r.importedAt)))), 'No releases imported yet.');
}

let shown: string | null = null;

export async function showRelease(id: string): Promise<void> {
  shown = id;
  el('crumb').textContent = `/ releases / ${id}`;
  el('release-id').textContent = id;
  const [release, root] = await Promise.all([
    api<StoredRelease>(`/v1/releases/${enc(id)}`).catch(failed(`Release ${id}`)),
    api<RootEnvelope>('/v1/roots/current').catch((error: unknown) => {
      // No root yet is a state, not a failure.
      if (error instanceof ApiFailure && error.status === 404) return undefined;
      return failed('Current root')(error);
    }),
  ]);
  if (!release || shown !== id) return;
  const m = release.envelope.signed;
  fillKv('release-manifest', [
    ['version', m.version],
    ['sequence', m.sequence],
    ['vendor / class', `${m.vendorId} / ${m.classId}`],
    ['payload', `${size(m.payload.size)} · sha256 ${m.payload.sha256}`],
    ['payload uri', m.payload.uri],
    ['minimum installed sequence', m.minSequence ?? 'none'],
    ['created', when(m.createdAt)],
    ['expires', when(m.expiresAt) || 'never'],
    ['manifest digest', release.digest],
    ['imported', when(release.importedAt)],
  ].map(([label, value]) => [String(label), value as string | number]));
  const role = root?.signed.roles.release;
  const releaseKeys = new Set(role?.keyids ?? []);
  const signers = release.envelope.signatures;
  const known = signers.filter((s) => releaseKeys.has(s.keyid)).length;
  el('release-signers-note').textContent = root
    ? `${signers.length} signature(s); ${known} by release keys of the current root (version ${root.signed.version}), which requires ${role?.threshold ?? '?'}.`
    : `${signers.length} signature(s); no root is published, so no key can be named.`;
  fillRows('release-signatures', signers.map((s) => h('tr', null, { 'data-testid': 'signature-row' },
    td(s.keyid, { class: 'mono' }),
    td(releaseKeys.has(s.keyid) ? `release key (root v${root!.signed.version})` : root ? 'not a release key of the current root' : 'unknown'),
    td(`${s.sig.slice(0, 16)}…`, { class: 'mono', title: s.sig }))), 'Unsigned.');
  el('release-manifest-json').textContent = JSON.stringify(m, null, 2);
  el('release-new-rollout').setAttribute('href', `#/new-rollout?release=${enc(id)}`);
}
