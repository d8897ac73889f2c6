// The console's shared parts: DOM helpers, the API client, the state groups (from protocol/),
// time formatting and event-id ordering. All text from the API goes in through textContent.
import { DEVICE_STATES, FAILED_STATES, TERMINAL_STATES, type DeviceState } from '../../../protocol/states.js';

/** FAILED_STATES (terminal and not a success) are the red part of the bars. */
export { DEVICE_STATES, FAILED_STATES, type DeviceState };
/** Notified and not finished yet: the blue part of the bars. */
export const RUNNING_STATES: readonly DeviceState[] = DEVICE_STATES.filter((s) => s !== 'queued' && !TERMINAL_STATES.has(s));
export const ACTIVE_ROLLOUT: readonly string[] = ['created', 'scheduled', 'running', 'paused'];

export type Counts = Partial<Record<string, number>>;

export const sum = (counts: Counts | undefined, states: readonly string[]): number => states.reduce((n, s) => n + (counts?.[s] ?? 0), 0);

/** Order of a device state in DEVICE_STATES (unknown states last): sorts tables by state. */
export function stateRank(state: string): number {
  const i = (DEVICE_STATES as readonly string[]).indexOf(state);
  return i < 0 ? DEVICE_STATES.length : i;
}

// ---- DOM ---------------------------------------------------------------------------------

export function el<T extends HTMLElement = HTMLElement>(testid: string): T {
  const found = document.querySelector<T>(`[data-testid="${testid}"]`);
  if (!found) throw new Error(`console: no element ${testid}`);
  return found;
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string | number | null, attrs: Record<string, string> = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const n = document.createElement(tag);
  if (text !== undefined && text !== null) n.textContent = String(text);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v);
  n.append(...children);
  return n;
}

export function link(text: string, href: string, attrs: Record<string, string> = {}): HTMLAnchorElement {
  return h('a', text, { href, ...attrs });
}

export function td(content: string | number | Node | null | undefined, attrs: Record<string, string> = {}): HTMLTableCellElement {
  const cell = h('td', null, attrs);
  if (content instanceof Node) cell.append(content);
  else if (content !== undefined && content !== null) cell.textContent = String(content);
  return cell;
}

export type KvRow = [label: string, value: string | number, testid?: string];

/** A two-column table's rows; an empty list shows one "none" row rather than nothing. */
export function fillKv(testid: string, rows: KvRow[]): void {
  const body = el<HTMLTableElement>(testid).tBodies[0]!;
  if (rows.length === 0) {
    body.replaceChildren(h('tr', null, { 'data-testid': `${testid}-none`, class: 'none' }, h('td', 'none', { colspan: '2' })));
    return;
  }
  body.replaceChildren(...rows.map(([label, value, id]) => h('tr', null, id ? { 'data-testid': id } : {}, td(label), td(value))));
}

/** Replaces a table body with rows, or one "none" row spanning the table. */
export function fillRows(testid: string, rows: HTMLTableRowElement[], empty = 'none'): void {
  const table = el<HTMLTableElement>(testid);
  const columns = table.tHead?.rows[0]?.cells.length ?? 1;
  if (rows.length === 0) {
    table.tBodies[0]!.replaceChildren(h('tr', null, { 'data-testid': `${testid}-none`, class: 'none' }, h('td', empty, { colspan: String(columns) })));
    return;
  }
  table.tBodies[0]!.replaceChildren(...rows);
}

export function bar(counts: Counts | undefined, size: number): HTMLDivElement {
  const parts: Array<[string, number]> = [['ok', sum(counts, ['succeeded'])], ['bad', sum(counts, FAILED_STATES)], ['run', sum(counts, RUNNING_STATES)], ['off', sum(counts, ['canceled'])]];
  const b = h('div', null, { class: 'bar', role: 'img', 'aria-label': parts.map(([cls, n]) => `${cls} ${n}`).join(', ') });
  for (const [cls, n] of parts) {
    const s = h('span', null, { class: cls, 'data-part': cls });
    s.style.width = size > 0 ? `${(100 * n) / size}%` : '0%';
    b.append(s);
  }
  return b;
}

export function banner(text: string | null): void {
  const b = el('banner');
  b.textContent = text ?? '';
  b.hidden = !text;
}

// ---- time --------------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(2, '0');

/** `HH:MM:SS` in UTC (the console shows UTC throughout, as the API does). */
export function clock(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** `YYYY-MM-DD HH:MM:SS` from an ISO time; '' for none. */
export function when(iso: string | undefined | null): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/(\.\d+)?Z$/, '');
}

// ---- event ids -------------------------------------------------------------------------

/** Orders two Redis stream ids (`<ms>-<seq>`) as numbers; '' (no position) sorts first. */
export function compareEventIds(a: string, b: string): number {
  const [am = '0', as = '0'] = (a || '0-0').split('-');
  const [bm = '0', bs = '0'] = (b || '0-0').split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

// ---- API -------------------------------------------------------------------------------

export class ApiFailure extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
  }
}

export const session = {
  token: null as string | null,
  operator: false,
  onUnauthorized: (_message: string) => {},
};

export interface ApiResult<T> {
  body: T;
  /** The event log's position the body reflects (x-event-id on rollout reads), or ''. */
  eventId: string;
}

export async function apiWithPosition<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { authorization: `Bearer ${session.token}`, accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method: init.method ?? 'GET', headers, cache: 'no-store', ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  const body = (await res.json().catch(() => null)) as (T & { code?: string; message?: string }) | null;
  if (res.status === 401) {
    session.onUnauthorized('That token was refused (unknown or revoked).');
    throw new ApiFailure('unauthorized', 'unauthorized', 401);
  }
  if (!res.ok) throw new ApiFailure(body?.code ?? `http_${res.status}`, body?.message ?? res.statusText, res.status);
  return { body: body as T, eventId: res.headers.get('x-event-id') ?? '' };
}

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  return (await apiWithPosition<T>(path, init)).body;
}

/** A catch handler: shows what failed in the banner (a refused token already signed out). */
export function failed(what: string): (error: unknown) => undefined {
  return (error) => {
    const e = error as Partial<ApiFailure> | undefined;
    if (e?.code !== 'unauthorized') banner(`${what} failed: ${e?.code ?? 'error'}${e?.message ? ` (${e.message})` : ''}`);
    return undefined;
  };
}

export const enc = encodeURIComponent;

// ---- coalesced rendering ---------------------------------------------------------------

const dirty = new Set<() => void>();
let frame = 0;

/** Runs each renderer once in the next animation frame, however often it is asked for. */
export function invalidate(...renderers: Array<() => void>): void {
  for (const r of renderers) dirty.add(r);
  if (!frame) {
    frame = requestAnimationFrame(() => {
      frame = 0;
      const now = [...dirty];
      dirty.clear();
      for (const r of now) r();
    });
  }
}

const lastRun = new Map<string, number>();
const pending = new Map<string, ReturnType<typeof setTimeout>>();

/** Runs `fn` at most once per `ms` per key: event-driven refetches, never a polling loop. */
export function throttled(key: string, ms: number, fn: () => void): void {
  if (pending.has(key)) return;
  const wait = Math.max(0, (lastRun.get(key) ?? 0) + ms - Date.now());
  pending.set(key, setTimeout(() => {
    pending.delete(key);
    lastRun.set(key, Date.now());
    fn();
  }, wait));
}

/** Asks the operator; window.confirm is modal, plain and testable (a dialog event). */
export function confirmAction(message: string): boolean {
  return window.confirm(message);
}
