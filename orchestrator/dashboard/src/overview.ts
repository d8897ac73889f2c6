// Overview (#/): fleet summary, rollouts with live progress, broker refusals.
import type { FleetSummary } from '../../registry/fleet-summary.js';
import type { RolloutStatus } from '../../rollouts/model.js';
import { ACTIVE_ROLLOUT, apiWithPosition, api, bar, compareEventIds, DEVICE_STATES, el, enc, FAILED_STATES, failed, fillKv, fillRows, h, invalidate, link, sum, td, throttled, when, type Counts } from './core.js';
import { openStream, type FleetEvent } from './stream.js';

const SUMMARY_REFRESH_MS = 5_000;
const SUMMARY_STALE_RETRY_MS = 1_500;
const ROLLOUTS_LISTED = 50;

export interface RolloutRow {
  id: string;
  releaseId: string;
  status: RolloutStatus;
  statusReason?: string;
  currentWave: number;
  waveCount: number;
  total: number;
  counts: Counts;
  createdAt: string;
}

const STATUS_OF: Record<string, RolloutStatus> = { 'rollout.started': 'running', 'rollout.resumed': 'running', 'rollout.paused': 'paused', 'rollout.aborted': 'aborted', 'rollout.completed': 'completed' };
export { STATUS_OF };

const state = {
  active: false,
  summary: null as FleetSummary | null,
  rollouts: new Map<string, RolloutRow>(),
  /** The event log's position the rollout list reflects: older events are not applied. */
  listEventId: '',
  refusals: {} as Record<string, number>,
};

function renderSummary(): void {
  const s = state.summary;
  if (!s) return;
  el('fleet-total').textContent = String(s.total);
  el('fleet-revoked').textContent = String(s.revoked);
  el('fleet-computed').textContent = (s.computedAt ?? '').slice(11, 19);
  fillKv('fleet-presence', [['online', s.byPresence.online, 'presence-online'], ['offline', s.byPresence.offline, 'presence-offline'], ['unknown', s.byPresence.unknown, 'presence-unknown']]);
  fillKv('fleet-versions', s.byInstalledRelease.slice(0, 20).map((r) => [r.releaseId ?? 'none reported', r.count]));
  fillKv('fleet-classes', s.byClass.slice(0, 20).map((c) => [`${c.vendorId} / ${c.classId}`, c.count]));
}

function renderRollouts(): void {
  const rows = [...state.rollouts.values()];
  fillRows('rollouts-table', rows.map((r) => h('tr', null, { 'data-testid': `rollout-row-${r.id}` },
    td(link(r.id, `#/rollouts/${enc(r.id)}`)),
    td(link(r.releaseId, `#/releases/${enc(r.releaseId)}`)),
    td(r.status, { 'data-testid': `rollout-row-status-${r.id}` }),
    td(`${Math.min(r.currentWave + 1, r.waveCount)} / ${r.waveCount}`),
    td(bar(r.counts, r.total)),
    td(sum(r.counts, ['succeeded']), { class: 'num' }),
    td(sum(r.counts, FAILED_STATES), { class: 'num' }),
    td(r.total, { class: 'num' }),
    td(when(r.createdAt)))), 'No rollouts yet.');
  const totals: Record<string, number> = {};
  for (const r of rows) if (ACTIVE_ROLLOUT.includes(r.status)) for (const s of DEVICE_STATES) totals[s] = (totals[s] ?? 0) + (r.counts[s] ?? 0);
  fillKv('fleet-states', DEVICE_STATES.filter((s) => (totals[s] ?? 0) > 0).map((s) => [s, totals[s]!]));
}

export function renderRefusals(): void {
  fillKv('broker-refusals', Object.entries(state.refusals).sort((a, b) => b[1] - a[1]).map(([reason, n]) => [reason, n]));
}

export function addRefusals(counts: Record<string, number> | undefined): void {
  for (const [reason, n] of Object.entries(counts ?? {})) state.refusals[reason] = (state.refusals[reason] ?? 0) + n;
  invalidate(renderRefusals);
}

async function loadSummary(): Promise<void> {
  const summary = await api<FleetSummary>('/v1/fleet/summary').catch(failed('Fleet summary'));
  if (!summary || !state.active) return;
  state.summary = summary;
  invalidate(renderSummary);
  // The server answers from its cache and refreshes it behind the answer: an old pass means
  // a fresh one is under way, so ask once more shortly (once: not a polling loop).
  if (Date.now() - Date.parse(summary.computedAt) > SUMMARY_REFRESH_MS) throttled('summary-stale', SUMMARY_STALE_RETRY_MS, () => void loadSummary());
}

async function loadRollouts(): Promise<string> {
  const result = await apiWithPosition<{ rollouts: RolloutRow[] }>(`/v1/rollouts?limit=${ROLLOUTS_LISTED}`).catch(failed('Rollouts list'));
  if (!result || !state.active) return '';
  state.rollouts = new Map(result.body.rollouts.map((r) => [r.id, r]));
  state.listEventId = result.eventId;
  invalidate(renderRollouts);
  return result.eventId;
}

function onEvent(e: FleetEvent, id: string): void {
  if (e.type === 'stream.gap') return void refetch();
  if (e.type === 'broker.refusals') return addRefusals(e.counts);
  if (e.type === 'rollout.created') return throttled('rollouts', 1_000, () => void loadRollouts());
  // Already in the list as loaded (a replay after a refetch): applying it would go back in time.
  if (id && compareEventIds(id, state.listEventId) <= 0) return;
  const row = e.rolloutId ? state.rollouts.get(e.rolloutId) : undefined;
  if (!row) return; // older than the rollouts listed
  if (e.type === 'rollout.counts' && e.counts && e.waves) {
    row.counts = e.counts;
    const current = e.waves.findIndex((w) => w.status !== 'done' && w.status !== 'pending');
    if (current >= 0) row.currentWave = current;
    throttled('summary', SUMMARY_REFRESH_MS, () => void loadSummary());
  } else if (STATUS_OF[e.type]) {
    row.status = STATUS_OF[e.type]!;
  } else if (e.type === 'wave.notifying' && e.wave !== undefined) {
    row.currentWave = e.wave;
  }
  invalidate(renderRollouts);
}

function refetch(): void {
  void loadSummary();
  void loadRollouts();
}

export function showOverview(): void {
  state.active = true;
  el('crumb').textContent = '';
  invalidate(renderRefusals);
  void loadSummary();
  // The stream starts where the list left off: nothing it holds is applied again, nothing is missed.
  void loadRollouts().then((position) => {
    if (state.active) openStream({ from: position, onEvent, onReconnect: refetch });
  });
}

export function leaveOverview(): void {
  state.active = false;
}
