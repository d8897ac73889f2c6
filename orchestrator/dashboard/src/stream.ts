// The event stream (GET /v1/events over EventSource): one per view. EventSource resends
// Last-Event-ID on its own reconnects, so the server replays what was missed; a stream it gives
// up on (HTTP error) is reopened after a pause, and the view refetches once after any reconnect.
import { el, session } from './core.js';

const RECONNECT_MS = 5_000;

export interface FleetEvent {
  type: string;
  at?: string;
  rolloutId?: string;
  reason?: string;
  wave?: number;
  counts?: Record<string, number>;
  reasons?: Record<string, number>;
  waves?: Array<{ index: number; status: string; counts: Record<string, number> }>;
  deviceId?: string;
  state?: string;
}

export interface StreamOptions {
  rolloutId?: string;
  /** 'all': every event still held (history); a stream id: only events after it. */
  from: 'all' | string;
  /** `id` is the event log's id ('' for notices such as stream.gap). */
  onEvent(event: FleetEvent, id: string): void;
  /** After a reconnect: refetch what the replay may not cover. */
  onReconnect(): void;
}

let current: EventSource | null = null;
let retry: ReturnType<typeof setTimeout> | undefined;

function setConnection(text: string, state: string): void {
  const pill = el('conn-status');
  pill.textContent = text;
  pill.dataset.state = state;
}

export function closeStream(): void {
  clearTimeout(retry);
  current?.close();
  current = null;
}

export function resetConnection(): void {
  setConnection('not connected', 'idle');
}

export function openStream(options: StreamOptions): void {
  closeStream();
  const params = new URLSearchParams({ token: session.token ?? '' });
  if (options.rolloutId) params.set('rollout', options.rolloutId);
  if (options.from === 'all') params.set('from', '0');
  else if (options.from) params.set('lastEventId', options.from);
  const source = new EventSource(`/v1/events?${params}`);
  current = source;
  let lastId = '';
  let opened = false;
  source.onopen = () => {
    setConnection('live', 'live');
    if (opened) options.onReconnect();
    opened = true;
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      setConnection('offline', 'offline');
      retry = setTimeout(() => {
        // Resume after the last event seen, so nothing is applied twice.
        if (current === source) openStream({ ...options, from: lastId || options.from });
      }, RECONNECT_MS);
    } else {
      setConnection('reconnecting', 'reconnecting');
    }
  };
  source.onmessage = (message: MessageEvent<string>) => {
    let event: FleetEvent;
    try {
      event = JSON.parse(message.data) as FleetEvent;
    } catch {
      return;
    }
    if (message.lastEventId) lastId = message.lastEventId;
    options.onEvent(event, message.lastEventId);
  };
}
