// Rollout detail (#/rollouts/:id): status, waves, counts, chart, failure reasons, a page of its
// devices, recent rejections, and the operator's actions. "Awaiting your approval" is explicit.
//
// Freshness: the view is read with the event log's position (x-event-id). Events up to it are
// replayed for the chart's history and the rejections list, but never applied to the view: an
// old rollout.counts replayed over a fresh view once showed `queued 185` on an aborted rollout.
import type uPlotType from 'uplot';
import type { RolloutView, WaveView } from '../../rollouts/model.js';
import { ACTIVE_ROLLOUT, apiWithPosition, api, bar, clock, compareEventIds, confirmAction, DEVICE_STATES, el, enc, FAILED_STATES, failed, fillKv, fillRows, h, invalidate, link, RUNNING_STATES, session, stateRank, sum, td, throttled, type Counts } from './core.js';
import { addRefusals, STATUS_OF } from './overview.js';
import { openStream, type FleetEvent } from './stream.js';

const DEVICE_PAGE = 50;
const CHART_MAX_POINTS = 5_000;
const CHART_HEIGHT = 240;
const DEVICES_REFRESH_MS = 3_000;
const RECENT_REJECTIONS = 20;

const WAVE_STATUS_OF: Record<string, WaveView['status']> = { 'wave.notifying': 'notifying', 'wave.baking': 'baking', 'wave.awaiting_approval': 'awaiting_approval', 'wave.done': 'done' };

interface DeviceRow {
  id: string;
  wave: number;
  state: string;
  progress?: number;
  reason?: string;
}

/** uPlot is loaded as a classic script (vendor/uPlot.iife.min.js) and sets a global. */
declare global {
  interface Window {
    uPlot?: typeof uPlotType;
  }
}

const state = {
  id: null as string | null,
  view: null as RolloutView | null,
  viewEventId: '',
  chart: { t: [] as number[], ok: [] as number[], bad: [] as number[] },
  plot: null as uPlotType | null,
  devices: { rows: [] as DeviceRow[], cursors: [undefined] as Array<string | undefined>, page: 0, next: undefined as string | undefined, state: '', wave: '' },
  rejections: [] as FleetEvent[],
};

/** 1-based, as every human-facing text in the console and the CLI. */
const waveName = (index: number) => `Wave ${index + 1}`;

function renderActions(r: RolloutView): void {
  el('operator-actions').hidden = !session.operator;
  const wave = r.waves[r.currentWave];
  const awaiting = ACTIVE_ROLLOUT.includes(r.status) && wave?.status === 'awaiting_approval' && !wave.approved;
  const callout = el('approval-callout');
  callout.hidden = !awaiting;
  if (awaiting) {
    el('approval-text').textContent = session.operator
      ? `${waveName(r.currentWave)} is done and awaiting your approval: the next wave starts only when you approve it.`
      : `${waveName(r.currentWave)} is awaiting an operator's approval before the next wave starts.`;
  }
  el('btn-approve-callout').hidden = !session.operator;
  if (!session.operator) return;
  el<HTMLButtonElement>('btn-pause').disabled = r.status !== 'running';
  el<HTMLButtonElement>('btn-resume').disabled = r.status !== 'paused';
  el<HTMLButtonElement>('btn-abort').disabled = !ACTIVE_ROLLOUT.includes(r.status);
  const manual = r.spec?.waves?.[r.currentWave]?.promotion === 'manual';
  el<HTMLButtonElement>('btn-approve').disabled = !ACTIVE_ROLLOUT.includes(r.status) || !wave || wave.status === 'done' || wave.approved || !(manual || wave.status === 'awaiting_approval');
}

function renderView(): void {
  const r = state.view;
  if (!r) return;
  el('crumb').textContent = `/ rollouts / ${r.id}`;
  el('rollout-id').textContent = r.id;
  const release = el('rollout-release');
  release.replaceChildren(link(r.releaseId, `#/releases/${enc(r.releaseId)}`));
  el('rollout-total').textContent = String(r.total);
  el('rollout-wave').textContent = `${Math.min(r.currentWave + 1, r.waves.length)} of ${r.waves.length}`;
  // Absent on a view from an older orchestrator: say nothing rather than a wrong bound.
  el('rollout-blast').textContent = r.blastRadius ? String(r.blastRadius.bound) : '?';
  el('rollout-blast').title = r.blastRadius?.basis ?? '';
  const status = el('rollout-status');
  const awaiting = r.waves[r.currentWave]?.status === 'awaiting_approval' && ACTIVE_ROLLOUT.includes(r.status);
  status.textContent = awaiting ? `${r.status} · awaiting approval` : r.status;
  status.dataset.status = awaiting ? 'awaiting' : r.status;
  el('rollout-reason').textContent = r.statusReason ?? '';
  renderActions(r);
  el('waves').replaceChildren(...r.waves.map((w) => {
    const ok = sum(w.counts, ['succeeded']);
    const bad = sum(w.counts, FAILED_STATES);
    const run = sum(w.counts, RUNNING_STATES);
    const spec = r.spec?.waves?.[w.index];
    const promotion = spec?.promotion === 'manual' ? ' · manual promotion' : '';
    return h('li', null, { 'data-testid': `wave-${w.index}`, 'data-status': w.status, 'data-current': String(w.index === r.currentWave) },
      h('span', waveName(w.index), { class: 'wave-name' }),
      bar(w.counts, w.size),
      h('span', `${w.status} · ${ok} / ${w.size} succeeded · ${bad} failed · ${run} in progress`, { class: 'wave-label', 'data-testid': `wave-${w.index}-label` }),
      h('span', spec ? `success ≥ ${Math.round(spec.successThreshold * 100)} % · failure ≤ ${Math.round(spec.failureThreshold * 100)} % · bake ${spec.bakeSeconds} s${promotion}` : '', { class: 'wave-spec muted' }));
  }));
  fillKv('rollout-counts', DEVICE_STATES.map((s) => [s, r.counts?.[s] ?? 0, `count-${s}`]));
  fillKv('reasons-table', Object.entries(r.reasons ?? {}).sort((a, b) => b[1] - a[1]).map(([reason, n]) => [reason, n, `reason-${reason}`]));
  const waveSelect = el<HTMLSelectElement>('devices-wave');
  if (waveSelect.options.length !== r.waves.length + 1) {
    waveSelect.replaceChildren(h('option', 'any', { value: '' }), ...r.waves.map((w) => h('option', String(w.index + 1), { value: String(w.index) })));
    waveSelect.value = state.devices.wave;
  }
}

/** Time axis: whole seconds as HH:MM:SS (UTC); never uPlot's sub-second `:48.500`. */
const TIME_INCREMENTS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1_800, 3_600, 7_200, 21_600, 43_200, 86_400];

function renderChart(): void {
  const box = el('rollout-chart');
  const UPlot = window.uPlot;
  if (!state.view || box.offsetParent === null || !UPlot) return;
  const data: uPlotType.AlignedData = [state.chart.t, state.chart.ok, state.chart.bad];
  box.dataset.points = String(state.chart.t.length);
  const width = Math.max(300, box.clientWidth);
  if (!state.plot) {
    state.plot = new UPlot({
      width,
      height: CHART_HEIGHT,
      tzDate: (ts) => UPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC'),
      series: [{ label: 'time (UTC)', value: (_u, v) => (v === null ? '–' : clock(v)) }, { label: 'succeeded', stroke: '#2f9e44', width: 2 }, { label: 'failed', stroke: '#e03131', width: 2 }],
      axes: [{ incrs: TIME_INCREMENTS, space: 70, values: (_u, splits) => splits.map((s) => clock(s)) }, { size: 50 }],
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
    }, data, box);
  } else {
    if (state.plot.width !== width) state.plot.setSize({ width, height: CHART_HEIGHT });
    state.plot.setData(data);
  }
}

/** One page, ordered by state (as DEVICE_STATES lists them) then id: stable between refreshes. */
function renderDevices(): void {
  const d = state.devices;
  const rows = [...d.rows].sort((a, b) => stateRank(a.state) - stateRank(b.state) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  fillRows('devices-table', rows.map((row) => h('tr', null, { 'data-testid': 'device-row' },
    td(link(row.id, `#/devices/${enc(row.id)}`)),
    td(row.wave + 1, { class: 'num' }),
    td(row.state),
    td(row.state === 'downloading' ? `${row.progress ?? 0}%` : '', { class: 'num' }),
    td(row.reason || ''))), 'No devices on this page.');
  el('devices-note').textContent = `Page ${d.page + 1}: ${d.rows.length} devices, by state then id${d.next ? '' : ' · last page'}`;
  el<HTMLButtonElement>('devices-next').disabled = !d.next;
  el<HTMLButtonElement>('devices-first').disabled = d.page === 0;
}

function renderRejections(): void {
  fillRows('recent-rejections', state.rejections.map((e) => h('tr', null, { 'data-testid': 'rejection-row' },
    td((e.at ?? '').slice(11, 19)), td(link(e.deviceId ?? '', `#/devices/${enc(e.deviceId ?? '')}`)), td(e.state), td(e.reason))));
}

/** Keeps points sorted by time (a replay may deliver history after the page's first point). */
function addChartPoint(t: number, counts: Counts): void {
  const c = state.chart;
  let i = c.t.length;
  while (i > 0 && c.t[i - 1]! > t) i--;
  c.t.splice(i, 0, t);
  c.ok.splice(i, 0, sum(counts, ['succeeded']));
  c.bad.splice(i, 0, sum(counts, FAILED_STATES));
  if (c.t.length > CHART_MAX_POINTS) for (const a of [c.t, c.ok, c.bad]) a.splice(0, a.length - CHART_MAX_POINTS);
}

function onEvent(e: FleetEvent, id: string): void {
  if (e.type === 'stream.gap') return void loadView(state.id!);
  if (e.type === 'broker.refusals') return addRefusals(e.counts);
  const r = state.view;
  if (!r || e.rolloutId !== r.id) return;
  // History (chart, rejections) comes from every event; the view only from newer ones.
  if (e.type === 'rollout.counts' && e.counts && e.at) {
    addChartPoint(Date.parse(e.at) / 1000, e.counts);
    invalidate(renderChart);
  }
  if (e.type === 'device.rejected') {
    state.rejections.unshift(e);
    state.rejections.length = Math.min(state.rejections.length, RECENT_REJECTIONS);
    return invalidate(renderRejections);
  }
  if (id && compareEventIds(id, state.viewEventId) <= 0) return;
  if (e.type === 'rollout.counts' && e.counts && e.waves) {
    r.counts = e.counts;
    r.reasons = e.reasons ?? {};
    for (const w of e.waves) {
      const wave = r.waves[w.index];
      if (wave) Object.assign(wave, { status: w.status, counts: w.counts });
    }
    throttled('devices', DEVICES_REFRESH_MS, () => void loadDevices(state.devices.page));
  } else if (STATUS_OF[e.type]) {
    r.status = STATUS_OF[e.type]!;
    if (e.reason !== undefined) r.statusReason = e.reason;
  } else if (WAVE_STATUS_OF[e.type] && e.wave !== undefined && r.waves[e.wave]) {
    r.waves[e.wave]!.status = WAVE_STATUS_OF[e.type]!;
    if (e.type === 'wave.notifying') r.currentWave = e.wave;
  } else if (e.type === 'wave.approved' && e.wave !== undefined && r.waves[e.wave]) {
    r.waves[e.wave]!.approved = true;
  }
  invalidate(renderView);
}

async function loadView(id: string): Promise<boolean> {
  const result = await apiWithPosition<RolloutView>(`/v1/rollouts/${enc(id)}`).catch(failed(`Rollout ${id}`));
  if (!result || state.id !== id) return false;
  state.view = result.body;
  state.viewEventId = result.eventId;
  invalidate(renderView, renderChart);
  return true;
}

async function loadDevices(page: number): Promise<void> {
  const r = state.view;
  const d = state.devices;
  if (!r) return;
  const params = new URLSearchParams({ limit: String(DEVICE_PAGE) });
  if (d.state) params.set('state', d.state);
  if (d.wave !== '') params.set('wave', d.wave);
  const cursor = d.cursors[page];
  if (cursor) params.set('cursor', cursor);
  const result = await api<{ devices: DeviceRow[]; cursor?: string }>(`/v1/rollouts/${enc(r.id)}/devices?${params}`).catch(failed('Devices page'));
  if (!result || state.view !== r) return;
  d.page = page;
  d.rows = result.devices;
  d.next = result.cursor;
  d.cursors[page + 1] = result.cursor;
  invalidate(renderDevices);
}

const CONFIRM: Record<string, (id: string, view: RolloutView) => string> = {
  pause: (id) => `Pause rollout ${id}? Devices already notified keep going; no new wave starts.`,
  resume: (id) => `Resume rollout ${id}?`,
  approve: (id, v) => `Approve ${waveName(v.currentWave).toLowerCase()} of ${id} and promote to the next one?`,
  abort: (id) => `Abort rollout ${id}? Pending devices are canceled and notified ones get a cancel. This cannot be undone.`,
};

async function act(action: string): Promise<void> {
  const r = state.view;
  const ask = CONFIRM[action];
  if (!r || !ask || !session.operator || !confirmAction(ask(r.id, r))) return;
  const body = action === 'pause' || action === 'abort' ? { reason: `${action === 'pause' ? 'paused' : 'aborted'} from the console` } : {};
  const result = await apiWithPosition<RolloutView>(`/v1/rollouts/${enc(r.id)}/${action}`, { method: 'POST', body }).catch(failed(action));
  // The answer is newer than anything the stream has delivered so far: take it as the view.
  if (result && state.view === r) {
    state.view = result.body;
    invalidate(renderView);
  }
}

export function showRollout(id: string): void {
  state.id = id;
  state.view = null;
  state.viewEventId = '';
  state.chart = { t: [], ok: [], bad: [] };
  state.plot?.destroy();
  state.plot = null;
  state.rejections = [];
  state.devices = { rows: [], cursors: [undefined], page: 0, next: undefined, state: '', wave: '' };
  el<HTMLSelectElement>('devices-state').value = '';
  invalidate(renderRejections, renderDevices);
  // The view first, then every event still held (from=0): the chart's history and recent
  // rejections come from the replay; only events after the view's position change the view.
  void loadView(id).then((ok) => {
    if (!ok || state.id !== id) return;
    openStream({ rolloutId: id, from: 'all', onEvent, onReconnect: () => void loadView(id) });
    void loadDevices(0);
  });
}

export function leaveRollout(): void {
  state.id = null;
}

export function initRollout(): void {
  const stateSelect = el<HTMLSelectElement>('devices-state');
  for (const s of DEVICE_STATES) stateSelect.append(h('option', s, { value: s }));
  for (const button of document.querySelectorAll<HTMLButtonElement>('[data-action]')) button.addEventListener('click', () => void act(button.dataset.action ?? ''));
  stateSelect.addEventListener('change', () => {
    Object.assign(state.devices, { state: stateSelect.value, cursors: [undefined], page: 0 });
    void loadDevices(0);
  });
  const waveSelect = el<HTMLSelectElement>('devices-wave');
  waveSelect.addEventListener('change', () => {
    Object.assign(state.devices, { wave: waveSelect.value, cursors: [undefined], page: 0 });
    void loadDevices(0);
  });
  el('devices-next').addEventListener('click', () => void loadDevices(state.devices.page + 1));
  el('devices-first').addEventListener('click', () => void loadDevices(0));
  new ResizeObserver(() => invalidate(renderChart)).observe(el('rollout-chart'));
}
