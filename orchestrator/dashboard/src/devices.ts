// Devices (#/devices?q=&presence=&tag=&release=&state=) and a device's detail (#/devices/:id).
// The list is one server-side page of GET /v1/devices (id order, cursor paging): the console
// never fetches the whole fleet. Filters are in the address, so a filtered list can be shared.
import type { DeviceRecord } from '../../../state/device-record.js';
import { ACTIVE_ROLLOUT, api, ApiFailure, confirmAction, DEVICE_STATES, el, enc, failed, fillKv, fillRows, h, link, session, td, when } from './core.js';
import type { RolloutRow } from './overview.js';

export const DEVICES_PAGE = 50;
/** Rollouts (newest first) checked for a device on its detail page. */
const ROLLOUTS_CHECKED = 50;

export interface DeviceFilters {
  q: string;
  presence: string;
  tag: string;
  release: string;
  state: string;
}

const FILTER_KEYS: ReadonlyArray<keyof DeviceFilters> = ['q', 'presence', 'tag', 'release', 'state'];

const list = {
  filters: { q: '', presence: '', tag: '', release: '', state: '' } as DeviceFilters,
  cursors: [undefined] as Array<string | undefined>,
  page: 0,
  token: 0,
};

export function filtersFrom(params: URLSearchParams): DeviceFilters {
  return { q: params.get('q') ?? '', presence: params.get('presence') ?? '', tag: params.get('tag') ?? '', release: params.get('release') ?? '', state: params.get('state') ?? '' };
}

function query(filters: DeviceFilters, cursor: string | undefined): string {
  const params = new URLSearchParams({ limit: String(DEVICES_PAGE) });
  if (filters.q) params.set('idPrefix', filters.q);
  if (filters.presence) params.set('presence', filters.presence);
  if (filters.tag) params.set('tag', filters.tag);
  if (filters.release) params.set('installedReleaseId', filters.release);
  if (filters.state) params.set('lastState', filters.state);
  if (cursor) params.set('cursor', cursor);
  return params.toString();
}

async function loadPage(page: number): Promise<void> {
  const token = ++list.token;
  const result = await api<{ devices: DeviceRecord[]; nextCursor: string | null }>(`/v1/devices?${query(list.filters, list.cursors[page])}`).catch(failed('Devices'));
  if (!result || token !== list.token) return;
  list.page = page;
  list.cursors[page + 1] = result.nextCursor ?? undefined;
  fillRows('fleet-devices-table', result.devices.map((d) => h('tr', null, { 'data-testid': 'fleet-device-row' },
    td(link(d.id, `#/devices/${enc(d.id)}`)),
    td(d.revoked ? 'revoked' : d.presence ?? 'unknown'),
    td(d.installedReleaseId ?? ''),
    td(d.lastStatus?.state ?? ''),
    td(when(d.lastSeenAt)),
    td(`${d.vendorId} / ${d.classId}`),
    td([...d.groups, ...d.tags.map((t) => `#${t}`)].join(' ')))), 'No devices match on this page.');
  // A filtered page scans a bounded number of ids: it may come back short, or empty, and still
  // have a next page. Say so rather than suggest the listing ended.
  const more = result.nextCursor !== null;
  const note = result.devices.length === 0 && more ? 'no match among the devices scanned for this page; Next page scans further' : `${result.devices.length} devices, in id order`;
  el('fleet-devices-note').textContent = `Page ${page + 1}: ${note}${more ? '' : ' · last page'}`;
  el<HTMLButtonElement>('fleet-devices-next').disabled = !more;
  el<HTMLButtonElement>('fleet-devices-first').disabled = page === 0;
}

export function showDevices(params: URLSearchParams): void {
  el('crumb').textContent = '/ devices';
  list.filters = filtersFrom(params);
  list.cursors = [undefined];
  const form = el<HTMLFormElement>('fleet-devices-filters');
  for (const key of FILTER_KEYS) (form.elements.namedItem(key) as HTMLInputElement | HTMLSelectElement).value = list.filters[key];
  void loadPage(0);
}

export function initDevices(): void {
  const stateSelect = el<HTMLSelectElement>('fleet-devices-state');
  for (const s of DEVICE_STATES) stateSelect.append(h('option', s, { value: s }));
  const form = el<HTMLFormElement>('fleet-devices-filters');
  const apply = () => {
    const params = new URLSearchParams();
    for (const key of FILTER_KEYS) {
      const value = (form.elements.namedItem(key) as HTMLInputElement | HTMLSelectElement).value.trim();
      if (value) params.set(key, value);
    }
    const hash = `#/devices${params.size > 0 ? `?${params}` : ''}`;
    if (location.hash === hash) showDevices(params);
    else location.hash = hash;
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  for (const select of form.querySelectorAll('select')) select.addEventListener('change', apply);
  el('fleet-devices-next').addEventListener('click', () => void loadPage(list.page + 1));
  el('fleet-devices-first').addEventListener('click', () => void loadPage(0));
  el('btn-revoke').addEventListener('click', () => void revoke());
}

// ---- one device ----------------------------------------------------------------------

interface RolloutEntry {
  id: string;
  wave: number;
  state: string;
  reason?: string;
  progress?: number;
  supersededBy?: string;
}

let shownDevice: string | null = null;

function renderRecord(d: DeviceRecord): void {
  el('device-id').textContent = d.id;
  const status = el('device-presence');
  status.textContent = d.revoked ? 'revoked' : d.presence ?? 'presence unknown';
  status.dataset.status = d.revoked ? 'aborted' : d.presence === 'online' ? 'completed' : 'created';
  fillKv('device-record', [
    ['vendor / class', `${d.vendorId} / ${d.classId}`],
    ['groups', d.groups.join(', ') || 'none'],
    ['tags', d.tags.join(', ') || 'none'],
    ['installed release', d.installedReleaseId ? `${d.installedReleaseId} (sequence ${d.installedSequence ?? '?'})` : 'none reported'],
    ['root version', d.rootVersion ?? 'none reported'],
    ['last status', d.lastStatus ? `${d.lastStatus.state}${d.lastStatus.reason ? ` (${d.lastStatus.reason})` : ''} in ${d.lastStatus.rolloutId} at ${when(d.lastStatus.at)}` : 'none'],
    ['last seen', when(d.lastSeenAt) || 'never'],
    ['registered', when(d.createdAt)],
    ['revoked', d.revoked ? when(d.revokedAt) || 'yes' : 'no'],
    ['public key', d.publicKey],
  ].map(([label, value]) => [String(label), value as string | number]));
  el<HTMLButtonElement>('btn-revoke').hidden = !session.operator;
  el<HTMLButtonElement>('btn-revoke').disabled = d.revoked;
}

async function entryIn(rolloutId: string, deviceId: string): Promise<RolloutEntry | undefined> {
  try {
    return await api<RolloutEntry>(`/v1/rollouts/${enc(rolloutId)}/devices/${enc(deviceId)}`);
  } catch (error) {
    // Not in that rollout: the answer we asked for, not a failure.
    if (error instanceof ApiFailure && error.status === 404) return undefined;
    throw error;
  }
}

export async function showDevice(id: string): Promise<void> {
  shownDevice = id;
  el('crumb').textContent = `/ devices / ${id}`;
  el('device-id').textContent = id;
  fillRows('device-rollouts', [], 'Looking…');
  fillRows('device-history', [], 'Looking…');
  const record = await api<DeviceRecord>(`/v1/devices/${enc(id)}`).catch(failed(`Device ${id}`));
  if (!record || shownDevice !== id) return;
  renderRecord(record);
  void showHistory(id);
  // Its state in rollouts: the one it last reported in, and every active one among the newest.
  const listed = await api<{ rollouts: RolloutRow[] }>(`/v1/rollouts?limit=${ROLLOUTS_CHECKED}`).catch(failed('Rollouts list'));
  if (shownDevice !== id) return;
  const candidates = new Map<string, RolloutRow | undefined>();
  if (record.lastStatus?.rolloutId) candidates.set(record.lastStatus.rolloutId, undefined);
  for (const r of listed?.rollouts ?? []) if (ACTIVE_ROLLOUT.includes(r.status) || candidates.has(r.id)) candidates.set(r.id, r);
  const found = await Promise.all([...candidates].map(async ([rolloutId, row]) => ({ rolloutId, row, entry: await entryIn(rolloutId, id).catch(failed(`Rollout ${rolloutId}`)) })));
  if (shownDevice !== id) return;
  fillRows('device-rollouts', found.filter((f) => f.entry).map(({ rolloutId, row, entry }) => h('tr', null, { 'data-testid': `device-rollout-${rolloutId}` },
    td(link(rolloutId, `#/rollouts/${enc(rolloutId)}`)),
    td(row ? row.status : ''),
    td(entry!.wave + 1, { class: 'num' }),
    td(entry!.state, { 'data-testid': `device-rollout-state-${rolloutId}` }),
    td(entry!.reason ?? ''),
    td(entry!.supersededBy ? `superseded by ${entry!.supersededBy}` : ''))), 'In no active rollout, and none it reported in.');
}

interface HistoryEntry {
  at: string;
  rolloutId: string;
  from?: string;
  state: string;
  reason?: string;
  source: 'report' | 'engine';
  detail?: { seq?: number; counter?: number; progress?: number };
}

async function showHistory(id: string): Promise<void> {
  const result = await api<{ entries: HistoryEntry[]; limit: number }>(`/v1/devices/${enc(id)}/history`).catch(failed(`History of ${id}`));
  if (!result || shownDevice !== id) return;
  el('device-history-note').textContent = `Every state change across rollouts, newest first (the ${result.limit} most recent are kept).`;
  fillRows('device-history', result.entries.map((e) => h('tr', null, { 'data-testid': 'device-history-row' },
    td(when(e.at)),
    td(link(e.rolloutId, `#/rollouts/${enc(e.rolloutId)}`)),
    td(e.from ?? ''),
    td(e.state),
    td(e.reason ?? ''),
    td(e.source === 'report' ? 'device report' : 'orchestrator'),
    td(e.detail?.seq !== undefined ? `seq ${e.detail.seq}, directive ${e.detail.counter ?? '?'}` : ''))), 'No transitions recorded.');
}

async function revoke(): Promise<void> {
  const id = shownDevice;
  if (!id || !session.operator || !confirmAction(`Revoke device ${id}? The broker drops it and it can no longer connect. This cannot be undone.`)) return;
  const record = await api<DeviceRecord>(`/v1/devices/${enc(id)}/revoke`, { method: 'POST' }).catch(failed('Revoke'));
  if (record && shownDevice === id) renderRecord(record);
}
