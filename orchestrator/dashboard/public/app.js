// fleet-ota ops dashboard: reads the JSON API and follows GET /v1/events (EventSource) to stay
// live; no polling loop. It never renders the whole fleet: counts, and pages of <= 100 devices.
// DOM writes are coalesced into one requestAnimationFrame, however fast events arrive.
// All text from the API goes in through textContent, never as HTML.

const TOKEN_KEY = 'fleet-ota.token';
const DEVICE_PAGE = 50;
const MAX_ROWS = 100;
const CHART_MAX_POINTS = 5_000;
const SUMMARY_REFRESH_MS = 5_000;
const SUMMARY_STALE_RETRY_MS = 1_500;
const DEVICES_REFRESH_MS = 3_000;
const RECONNECT_MS = 5_000;
const RECENT_REJECTIONS = 20;

const STATES = ['queued', 'notified', 'accepted', 'deferred', 'rejected', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded', 'failed', 'timed_out', 'canceled'];
const FAILED = ['failed', 'rejected', 'timed_out'];
const RUNNING = ['notified', 'accepted', 'deferred', 'downloading', 'verifying', 'installing', 'rebooting'];
const ACTIVE = ['created', 'running', 'paused'];

const el = (id) => document.querySelector(`[data-testid="${id}"]`);
const sum = (counts, states) => states.reduce((n, s) => n + (counts?.[s] ?? 0), 0);

const state = {
  token: null,
  operator: false,
  view: null, // 'overview' | 'rollout'
  rolloutId: null,
  summary: null,
  rollouts: new Map(),
  rollout: null,
  chart: { t: [], ok: [], bad: [] },
  plot: null,
  devices: { rows: [], cursors: [undefined], page: 0, next: undefined, state: '', wave: '' },
  rejections: [],
  refusals: {},
  stream: null,
  streamTimer: 0,
};

// ---- rendering, coalesced -------------------------------------------------------------------

const dirty = new Set();
let frame = 0;
function invalidate(...parts) {
  for (const p of parts) dirty.add(p);
  if (!frame) frame = requestAnimationFrame(flush);
}
function flush() {
  frame = 0;
  const parts = [...dirty];
  dirty.clear();
  for (const part of parts) renderers[part]?.();
}

function node(tag, text, attrs = {}) {
  const n = document.createElement(tag);
  if (text !== undefined && text !== null) n.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  return n;
}

/** Replaces a table body's rows with [label, value] pairs. */
function fillKv(testid, pairs) {
  const body = el(testid).tBodies[0];
  body.replaceChildren(...pairs.map(([label, value, id]) => {
    const tr = node('tr', undefined, id ? { 'data-testid': id } : {});
    tr.append(node('td', label), node('td', value));
    return tr;
  }));
}

function bar(counts, size) {
  const b = node('div', undefined, { class: 'bar', role: 'img' });
  const parts = [['ok', sum(counts, ['succeeded'])], ['bad', sum(counts, FAILED)], ['run', sum(counts, RUNNING)], ['off', sum(counts, ['canceled'])]];
  for (const [cls, n] of parts) {
    const s = node('span', undefined, { class: cls, 'data-part': cls });
    s.style.width = size > 0 ? `${(100 * n) / size}%` : '0%';
    b.append(s);
  }
  b.setAttribute('aria-label', parts.map(([cls, n]) => `${cls} ${n}`).join(', '));
  return b;
}

const renderers = {
  summary() {
    const s = state.summary;
    if (!s) return;
    el('fleet-total').textContent = String(s.total);
    el('fleet-revoked').textContent = String(s.revoked);
    el('fleet-computed').textContent = (s.computedAt ?? '').slice(11, 19);
    fillKv('fleet-presence', [['online', s.byPresence.online, 'presence-online'], ['offline', s.byPresence.offline, 'presence-offline'], ['unknown', s.byPresence.unknown, 'presence-unknown']]);
    fillKv('fleet-versions', s.byInstalledRelease.slice(0, 20).map((r) => [r.releaseId ? `${r.releaseId}${r.version ? ` (${r.version})` : ''}` : 'none reported', r.count]));
    fillKv('fleet-classes', s.byClass.slice(0, 20).map((c) => [`${c.vendorId} / ${c.classId}`, c.count]));
  },
  rollouts() {
    const rows = [...state.rollouts.values()];
    el('rollouts-empty').hidden = rows.length > 0;
    el('rollouts-table').tBodies[0].replaceChildren(...rows.map((r) => {
      const tr = node('tr', undefined, { 'data-testid': `rollout-row-${r.id}` });
      const link = node('a', r.id, { href: `#/rollouts/${encodeURIComponent(r.id)}` });
      const first = node('td');
      first.append(link);
      const barCell = node('td');
      barCell.append(bar(r.counts, r.total));
      tr.append(first, node('td', r.releaseId), node('td', r.status, { 'data-testid': `rollout-row-status-${r.id}` }), node('td', `${Math.min(r.currentWave + 1, r.waveCount)} / ${r.waveCount}`),
        barCell, node('td', sum(r.counts, ['succeeded']), { class: 'num' }), node('td', sum(r.counts, FAILED), { class: 'num' }), node('td', r.total, { class: 'num' }), node('td', (r.createdAt ?? '').replace('T', ' ').replace('Z', '')));
      return tr;
    }));
    const totals = {};
    for (const r of rows) if (ACTIVE.includes(r.status)) for (const s of STATES) totals[s] = (totals[s] ?? 0) + (r.counts?.[s] ?? 0);
    fillKv('fleet-states', STATES.filter((s) => totals[s] > 0).map((s) => [s, totals[s]]));
  },
  refusals() {
    fillKv('broker-refusals', Object.entries(state.refusals).sort((a, b) => b[1] - a[1]).map(([reason, n]) => [reason, n]));
  },
  rollout() {
    const r = state.rollout;
    if (!r) return;
    el('crumb').textContent = `/ rollouts / ${r.id}`;
    el('rollout-id').textContent = r.id;
    el('rollout-release').textContent = r.releaseId;
    el('rollout-total').textContent = String(r.total);
    el('rollout-wave').textContent = `${Math.min(r.currentWave + 1, r.waves.length)} of ${r.waves.length}`;
    const status = el('rollout-status');
    status.textContent = r.status;
    status.dataset.status = r.status;
    el('rollout-reason').textContent = r.statusReason ?? '';
    renderActions(r);
    el('waves').replaceChildren(...r.waves.map((w) => {
      const li = node('li', undefined, { 'data-testid': `wave-${w.index}`, 'data-status': w.status, 'data-current': String(w.index === r.currentWave) });
      const ok = sum(w.counts, ['succeeded']);
      const bad = sum(w.counts, FAILED);
      const run = sum(w.counts, RUNNING);
      li.append(node('span', `Wave ${w.index + 1}`, { class: 'wave-name' }), bar(w.counts, w.size),
        node('span', `${w.status} · ${ok} / ${w.size} succeeded · ${bad} failed · ${run} in progress`, { class: 'wave-label', 'data-testid': `wave-${w.index}-label` }));
      return li;
    }));
    fillKv('rollout-counts', STATES.map((s) => [s, r.counts?.[s] ?? 0, `count-${s}`]));
    const reasons = Object.entries(r.reasons ?? {}).sort((a, b) => b[1] - a[1]);
    el('reasons-empty').hidden = reasons.length > 0;
    fillKv('reasons-table', reasons.map(([reason, n]) => [reason, n, `reason-${reason}`]));
    const waveSelect = el('devices-wave');
    if (waveSelect.options.length !== r.waves.length + 1) {
      waveSelect.replaceChildren(node('option', 'any', { value: '' }), ...r.waves.map((w) => node('option', String(w.index + 1), { value: String(w.index) })));
      waveSelect.value = state.devices.wave;
    }
  },
  chart() {
    const box = el('rollout-chart');
    if (!state.rollout || box.offsetParent === null || typeof uPlot === 'undefined') return;
    const data = [state.chart.t, state.chart.ok, state.chart.bad];
    box.dataset.points = String(data[0].length);
    const width = Math.max(300, box.clientWidth);
    if (!state.plot) {
      state.plot = new uPlot({
        width,
        height: 240,
        series: [{}, { label: 'succeeded', stroke: '#2f9e44', width: 2 }, { label: 'failed', stroke: '#e03131', width: 2 }],
        axes: [{}, { size: 50 }],
        scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
      }, data, box);
    } else {
      if (state.plot.width !== width) state.plot.setSize({ width, height: 240 });
      state.plot.setData(data);
    }
  },
  devices() {
    const d = state.devices;
    const rows = d.rows.slice(0, MAX_ROWS);
    el('devices-table').tBodies[0].replaceChildren(...rows.map((row) => {
      const tr = node('tr', undefined, { 'data-testid': 'device-row' });
      tr.append(node('td', row.id), node('td', row.wave + 1, { class: 'num' }), node('td', row.state), node('td', row.state === 'downloading' ? `${row.progress}%` : '', { class: 'num' }), node('td', row.reason || ''));
      return tr;
    }));
    const more = d.rows.length > MAX_ROWS ? ` (first ${MAX_ROWS} of ${d.rows.length} shown)` : '';
    el('devices-note').textContent = `Page ${d.page + 1}: ${d.rows.length} devices${more}${d.next ? '' : ' · last page'}`;
    el('devices-next').disabled = !d.next;
    el('devices-first').disabled = d.page === 0;
  },
  rejections() {
    el('recent-rejections').tBodies[0].replaceChildren(...state.rejections.map((e) => {
      const tr = node('tr', undefined, { 'data-testid': 'rejection-row' });
      tr.append(node('td', (e.at ?? '').slice(11, 19)), node('td', e.deviceId), node('td', e.state), node('td', e.reason));
      return tr;
    }));
  },
};

function renderActions(r) {
  el('operator-actions').hidden = !state.operator;
  if (!state.operator) return;
  const wave = r.waves[r.currentWave];
  const manual = r.spec?.waves?.[r.currentWave]?.promotion === 'manual';
  el('btn-pause').disabled = r.status !== 'running';
  el('btn-resume').disabled = r.status !== 'paused';
  el('btn-abort').disabled = !ACTIVE.includes(r.status);
  el('btn-approve').disabled = !ACTIVE.includes(r.status) || !wave || wave.status === 'done' || wave.approved || !(manual || wave.status === 'awaiting_approval');
}

// ---- API --------------------------------------------------------------------------------------

class ApiFailure extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

async function api(path, init = {}) {
  const headers = { authorization: `Bearer ${state.token}`, accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { ...init, headers, cache: 'no-store' });
  const body = await res.json().catch(() => null);
  if (res.status === 401) {
    signOut('That token was refused (unknown or revoked).');
    throw new ApiFailure('unauthorized', 'unauthorized', 401);
  }
  if (!res.ok) throw new ApiFailure(body?.code ?? `http_${res.status}`, body?.message ?? res.statusText, res.status);
  return body;
}

function banner(text) {
  const b = el('banner');
  b.textContent = text ?? '';
  b.hidden = !text;
}

function failed(what) {
  return (error) => {
    if (error?.code === 'unauthorized') return;
    banner(`${what} failed: ${error?.code ?? 'error'}${error?.message ? ` (${error.message})` : ''}`);
  };
}

// ---- the event stream -------------------------------------------------------------------------

function setConnection(text, stateName) {
  const pill = el('conn-status');
  pill.textContent = text;
  pill.dataset.state = stateName;
}

function closeStream() {
  clearTimeout(state.streamTimer);
  state.stream?.close();
  state.stream = null;
}

/**
 * One EventSource per view. EventSource resends Last-Event-ID on its own reconnects, so the
 * server replays what was missed; a stream it gives up on (HTTP error) is reopened after a pause.
 */
function openStream(rolloutId, replayAll) {
  closeStream();
  const params = new URLSearchParams({ token: state.token });
  if (rolloutId) params.set('rollout', rolloutId);
  if (replayAll) params.set('from', '0');
  const source = new EventSource(`/v1/events?${params}`);
  state.stream = source;
  let opened = false;
  source.onopen = () => {
    setConnection('live', 'live');
    // After a reconnect, one refetch covers anything the replay could not (trimmed history).
    if (opened) refetchView();
    opened = true;
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setConnection('offline', 'offline');
      state.streamTimer = setTimeout(() => {
        if (state.stream === source) openStream(rolloutId, false);
      }, RECONNECT_MS);
    } else {
      setConnection('reconnecting', 'reconnecting');
    }
  };
  source.onmessage = (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    onEvent(event);
  };
}

function onEvent(e) {
  if (e.type === 'stream.gap') return refetchView();
  if (e.type === 'broker.refusals') {
    for (const [reason, n] of Object.entries(e.counts ?? {})) state.refusals[reason] = (state.refusals[reason] ?? 0) + n;
    return invalidate('refusals');
  }
  if (state.view === 'overview') return onOverviewEvent(e);
  if (state.view === 'rollout' && state.rollout && e.rolloutId === state.rollout.id) return onRolloutEvent(e, state.rollout);
}

const STATUS_OF = { 'rollout.started': 'running', 'rollout.resumed': 'running', 'rollout.paused': 'paused', 'rollout.aborted': 'aborted', 'rollout.completed': 'completed' };
const WAVE_STATUS_OF = { 'wave.notifying': 'notifying', 'wave.baking': 'baking', 'wave.awaiting_approval': 'awaiting_approval', 'wave.done': 'done' };

function onOverviewEvent(e) {
  if (e.type === 'rollout.created') return throttled('rollouts', 1_000, loadRollouts);
  const row = state.rollouts.get(e.rolloutId);
  // Older than the 50 listed: not on this page.
  if (!row) return;
  if (e.type === 'rollout.counts') {
    row.counts = e.counts;
    const current = e.waves.findIndex((w) => w.status !== 'done' && w.status !== 'pending');
    if (current >= 0) row.currentWave = current;
    throttled('summary', SUMMARY_REFRESH_MS, loadSummary);
  } else if (STATUS_OF[e.type]) {
    row.status = STATUS_OF[e.type];
  } else if (e.type === 'wave.notifying') {
    row.currentWave = e.wave;
  }
  invalidate('rollouts');
}

function onRolloutEvent(e, r) {
  if (e.type === 'rollout.counts') {
    r.counts = e.counts;
    r.reasons = e.reasons;
    for (const w of e.waves) {
      const wave = r.waves[w.index];
      if (wave) Object.assign(wave, { status: w.status, counts: w.counts });
    }
    addChartPoint(Date.parse(e.at) / 1000, e.counts);
    throttled('devices', DEVICES_REFRESH_MS, () => loadDevices(state.devices.page));
    return invalidate('rollout', 'chart');
  }
  if (STATUS_OF[e.type]) {
    r.status = STATUS_OF[e.type];
    r.statusReason = e.reason;
  } else if (WAVE_STATUS_OF[e.type] && r.waves[e.wave]) {
    r.waves[e.wave].status = WAVE_STATUS_OF[e.type];
    if (e.type === 'wave.notifying') r.currentWave = e.wave;
  } else if (e.type === 'wave.approved' && r.waves[e.wave]) {
    r.waves[e.wave].approved = true;
  } else if (e.type === 'device.rejected') {
    state.rejections.unshift(e);
    state.rejections.length = Math.min(state.rejections.length, RECENT_REJECTIONS);
    return invalidate('rejections');
  }
  invalidate('rollout');
}

/** Keeps points sorted by time (a replay may deliver history after the page's first point). */
function addChartPoint(t, counts) {
  const c = state.chart;
  let i = c.t.length;
  while (i > 0 && c.t[i - 1] > t) i--;
  c.t.splice(i, 0, t);
  c.ok.splice(i, 0, sum(counts, ['succeeded']));
  c.bad.splice(i, 0, sum(counts, FAILED));
  if (c.t.length > CHART_MAX_POINTS) for (const a of [c.t, c.ok, c.bad]) a.splice(0, a.length - CHART_MAX_POINTS);
}

const lastRun = new Map();
const pending = new Map();
/** Runs `fn` at most once per `ms` per key: event-driven refetches, never a polling loop. */
function throttled(key, ms, fn) {
  if (pending.has(key)) return;
  const wait = Math.max(0, (lastRun.get(key) ?? 0) + ms - Date.now());
  pending.set(key, setTimeout(() => {
    pending.delete(key);
    lastRun.set(key, Date.now());
    fn();
  }, wait));
}

// ---- views ------------------------------------------------------------------------------------

async function loadSummary() {
  const summary = await api('/v1/fleet/summary').catch(failed('Fleet summary'));
  if (!summary) return;
  state.summary = summary;
  invalidate('summary');
  // The server answers from its cache and refreshes it behind the answer: an old pass means
  // a fresh one is under way, so ask once more shortly (once: not a polling loop).
  if (Date.now() - Date.parse(summary.computedAt) > SUMMARY_REFRESH_MS) throttled('summary-stale', SUMMARY_STALE_RETRY_MS, loadSummary);
}

async function loadRollouts() {
  const page = await api('/v1/rollouts?limit=50').catch(failed('Rollouts list'));
  if (!page) return;
  state.rollouts = new Map(page.rollouts.map((r) => [r.id, r]));
  invalidate('rollouts');
}

async function loadRollout(id) {
  const r = await api(`/v1/rollouts/${encodeURIComponent(id)}`).catch(failed(`Rollout ${id}`));
  if (!r || state.rolloutId !== id) return;
  state.rollout = r;
  invalidate('rollout', 'chart');
}

async function loadDevices(page) {
  const r = state.rollout;
  const d = state.devices;
  if (!r) return;
  const params = new URLSearchParams({ limit: String(DEVICE_PAGE) });
  if (d.state) params.set('state', d.state);
  if (d.wave !== '') params.set('wave', d.wave);
  const cursor = d.cursors[page];
  if (cursor) params.set('cursor', cursor);
  const result = await api(`/v1/rollouts/${encodeURIComponent(r.id)}/devices?${params}`).catch(failed('Devices page'));
  if (!result || state.rollout !== r) return;
  d.page = page;
  d.rows = result.devices;
  d.next = result.cursor;
  d.cursors[page + 1] = result.cursor;
  invalidate('devices');
}

function refetchView() {
  if (state.view === 'overview') {
    void loadSummary();
    void loadRollouts();
  } else if (state.view === 'rollout' && state.rolloutId) {
    void loadRollout(state.rolloutId);
  }
}

function showOverview() {
  state.view = 'overview';
  state.rolloutId = null;
  el('crumb').textContent = '';
  el('overview-view').hidden = false;
  el('rollout-view').hidden = true;
  refetchView();
  openStream(null, false);
}

function showRollout(id) {
  state.view = 'rollout';
  state.rolloutId = id;
  state.rollout = null;
  state.chart = { t: [], ok: [], bad: [] };
  state.plot?.destroy();
  state.plot = null;
  state.rejections = [];
  state.devices = { rows: [], cursors: [undefined], page: 0, next: undefined, state: '', wave: '' };
  el('devices-state').value = '';
  el('overview-view').hidden = true;
  el('rollout-view').hidden = false;
  invalidate('rejections', 'devices');
  closeStream();
  // The view first, then every event still held (from=0), applied in order on top of it: the
  // chart's history and recent rejections come from the replay, and its last events are at
  // least as fresh as the view (the engine emits counts on every change).
  void loadRollout(id).then(() => {
    if (state.rolloutId !== id) return;
    openStream(id, true);
    void loadDevices(0);
  });
}

function route() {
  const match = /^#\/rollouts\/([A-Za-z0-9._-]{1,64})$/.exec(location.hash);
  banner(null);
  if (match) showRollout(match[1]);
  else showOverview();
}

// ---- operator actions -------------------------------------------------------------------------

const CONFIRM = {
  pause: (id) => `Pause rollout ${id}? Devices already notified keep going; no new wave starts.`,
  resume: (id) => `Resume rollout ${id}?`,
  approve: (id) => `Approve the current wave of ${id} and promote to the next one?`,
  abort: (id) => `Abort rollout ${id}? Pending devices are canceled and notified ones get a cancel. This cannot be undone.`,
};

async function act(action) {
  const r = state.rollout;
  if (!r || !state.operator || !window.confirm(CONFIRM[action](r.id))) return;
  const body = action === 'pause' || action === 'abort' ? { reason: `${action === 'pause' ? 'paused' : 'aborted'} from the dashboard` } : {};
  const view = await api(`/v1/rollouts/${encodeURIComponent(r.id)}/${action}`, { method: 'POST', body: JSON.stringify(body) }).catch(failed(`${action}`));
  if (view && state.rollout === r) {
    state.rollout = view;
    invalidate('rollout');
  }
}

// ---- sign-in ----------------------------------------------------------------------------------

function signOut(message) {
  closeStream();
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.operator = false;
  for (const id of ['overview-view', 'rollout-view', 'role', 'sign-out']) el(id).hidden = true;
  el('login').hidden = false;
  setConnection('not connected', 'idle');
  const error = el('login-error');
  error.textContent = message ?? '';
  error.hidden = !message;
}

async function signIn(token) {
  state.token = token;
  let who;
  try {
    who = await api('/v1/whoami');
  } catch (error) {
    if (error?.status === 404) who = { role: 'read', operator: false };
    else if (error?.code !== 'unauthorized') return failed('Sign-in')(error);
    else return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.operator = who.operator === true || who.role === 'operator';
  el('login').hidden = true;
  el('login-error').hidden = true;
  const role = el('role');
  role.textContent = state.operator ? 'operator' : 'read-only';
  role.hidden = false;
  el('sign-out').hidden = false;
  route();
}

/** `#token=...` (printed by `npm start`) is taken once, then removed from the address bar. */
function tokenFromHash() {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  const rest = location.hash.replace(/(?:^#|&)token=[^&]+/, '').replace(/^&/, '#');
  history.replaceState(null, '', `${location.pathname}${location.search}${rest.startsWith('#/') ? rest : '#/'}`);
  return decodeURIComponent(match[1]);
}

function init() {
  for (const s of STATES) el('devices-state').append(node('option', s, { value: s }));
  el('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const value = el('token-input').value.trim();
    el('token-input').value = '';
    if (value) void signIn(value);
  });
  el('sign-out').addEventListener('click', () => signOut());
  for (const button of document.querySelectorAll('[data-action]')) button.addEventListener('click', () => void act(button.dataset.action));
  el('devices-state').addEventListener('change', (event) => {
    Object.assign(state.devices, { state: event.target.value, cursors: [undefined], page: 0 });
    void loadDevices(0);
  });
  el('devices-wave').addEventListener('change', (event) => {
    Object.assign(state.devices, { wave: event.target.value, cursors: [undefined], page: 0 });
    void loadDevices(0);
  });
  el('devices-next').addEventListener('click', () => void loadDevices(state.devices.page + 1));
  el('devices-first').addEventListener('click', () => void loadDevices(0));
  window.addEventListener('hashchange', () => {
    if (state.token) route();
  });
  new ResizeObserver(() => invalidate('chart')).observe(el('rollout-chart'));
  const token = tokenFromHash() ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) void signIn(token);
  else signOut();
}

init();
