// fleet-ota console: sign-in, the hash router and the pages. It reads the JSON API with the
// user's token and follows GET /v1/events (EventSource) on the live pages; no polling loop, and
// never the whole fleet: counts, and server-side pages of devices.
import { initAudit, showAudit } from './audit.js';
import { api, banner, el, session } from './core.js';
import { initCreate, showCreate } from './create.js';
import { initDevices, showDevice, showDevices } from './devices.js';
import { leaveOverview, showOverview } from './overview.js';
import { showRelease, showReleases } from './releases.js';
import { initRollout, leaveRollout, showRollout } from './rollout.js';
import { closeStream, resetConnection } from './stream.js';

const TOKEN_KEY = 'fleet-ota.token';
const ROLLOUT_PATH = /^\/rollouts\/([A-Za-z0-9._-]{1,64})$/;
const DEVICE_PATH = /^\/devices\/([A-Za-z0-9_-]{1,64})$/;
const RELEASE_PATH = /^\/releases\/([A-Za-z0-9._-]{1,64})$/;

type Page = 'overview' | 'rollout' | 'devices' | 'device' | 'releases' | 'release' | 'create' | 'audit';
const PAGES: Page[] = ['overview', 'rollout', 'devices', 'device', 'releases', 'release', 'create', 'audit'];
/** Which top-level navigation entry each page belongs to. */
const NAV: Record<Page, string> = { overview: 'overview', rollout: 'overview', devices: 'devices', device: 'devices', releases: 'releases', release: 'releases', create: 'create', audit: 'audit' };

function show(page: Page): void {
  for (const p of PAGES) el(`${p}-view`).hidden = p !== page;
  for (const link of document.querySelectorAll<HTMLElement>('[data-nav]')) link.classList.toggle('current', link.dataset.nav === NAV[page]);
  if (page !== 'overview') leaveOverview();
  if (page !== 'rollout') leaveRollout();
  // Only the overview and a rollout's page are live.
  if (page !== 'overview' && page !== 'rollout') {
    closeStream();
    resetConnection();
  }
}

function route(): void {
  const hash = location.hash || '#/';
  const [path = '', query = ''] = hash.slice(1).split('?', 2);
  const params = new URLSearchParams(query);
  banner(null);
  let m: RegExpExecArray | null;
  if ((m = ROLLOUT_PATH.exec(path))) {
    show('rollout');
    showRollout(m[1]!);
  } else if (path === '/devices') {
    show('devices');
    showDevices(params);
  } else if ((m = DEVICE_PATH.exec(path))) {
    show('device');
    void showDevice(m[1]!);
  } else if (path === '/releases') {
    show('releases');
    void showReleases();
  } else if ((m = RELEASE_PATH.exec(path))) {
    show('release');
    void showRelease(m[1]!);
  } else if (path === '/audit') {
    show('audit');
    void showAudit();
  } else if (path === '/new-rollout') {
    show('create');
    void showCreate(params);
  } else {
    show('overview');
    showOverview();
  }
}

function signOut(message?: string): void {
  closeStream();
  sessionStorage.removeItem(TOKEN_KEY);
  session.token = null;
  session.operator = false;
  for (const p of PAGES) el(`${p}-view`).hidden = true;
  for (const id of ['role', 'sign-out', 'nav']) el(id).hidden = true;
  el('login').hidden = false;
  resetConnection();
  const error = el('login-error');
  error.textContent = message ?? '';
  error.hidden = !message;
}

async function signIn(token: string): Promise<void> {
  session.token = token;
  let who: { role?: string; operator?: boolean };
  try {
    who = await api<{ role?: string; operator?: boolean }>('/v1/whoami');
  } catch (error) {
    const e = error as { status?: number; code?: string; message?: string };
    if (e.status === 404) who = { role: 'read', operator: false };
    else {
      if (e.code !== 'unauthorized') banner(`Sign-in failed: ${e.code ?? 'error'}${e.message ? ` (${e.message})` : ''}`);
      return;
    }
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  session.operator = who.operator === true || who.role === 'operator';
  document.body.dataset.operator = String(session.operator);
  el('login').hidden = true;
  el('login-error').hidden = true;
  const role = el('role');
  role.textContent = session.operator ? 'operator' : 'read-only';
  role.hidden = false;
  el('sign-out').hidden = false;
  el('nav').hidden = false;
  route();
}

/** `#token=...` (printed by `npm start`) is taken once, then removed from the address bar. */
function tokenFromHash(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!match) return null;
  const rest = location.hash.replace(/(?:^#|&)token=[^&]+/, '').replace(/^&/, '#');
  history.replaceState(null, '', `${location.pathname}${location.search}${rest.startsWith('#/') ? rest : '#/'}`);
  return decodeURIComponent(match[1]!);
}

function init(): void {
  session.onUnauthorized = signOut;
  el('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = el<HTMLInputElement>('token-input');
    const value = input.value.trim();
    input.value = '';
    if (value) void signIn(value);
  });
  el('sign-out').addEventListener('click', () => signOut());
  initRollout();
  initDevices();
  initCreate();
  initAudit();
  window.addEventListener('hashchange', () => {
    if (session.token) route();
  });
  const token = tokenFromHash() ?? sessionStorage.getItem(TOKEN_KEY);
  if (token) void signIn(token);
  else signOut();
}

init();
