// Server-Sent Events framing (WHATWG HTML §9.2 "Server-sent events") and Redis Stream ids.
// Pure functions: no I/O. The stream loop (sse-stream.ts) writes what these return.

/** A Redis Stream entry id, `<ms>-<seq>`: the SSE `id:` and the Last-Event-ID we resume from. */
export const STREAM_ID = /^[0-9]{1,20}-[0-9]{1,20}$/;

export function isStreamId(value: unknown): value is string {
  return typeof value === 'string' && STREAM_ID.test(value);
}

/** Orders two stream ids numerically (`10-0` after `9-5`); BigInt since ids exceed 2^53. */
export function compareStreamIds(a: string, b: string): number {
  const [am = '0', as = '0'] = a.split('-');
  const [bm = '0', bs = '0'] = b.split('-');
  const ms = BigInt(am) - BigInt(bm);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(as) - BigInt(bs);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/**
 * One `message` event. `data` is JSON: JSON.stringify never emits a raw line break, so it is
 * one `data:` line (a line break would split the field, §9.2.6).
 */
export function formatSseMessage(data: unknown, id?: string): string {
  return `${id !== undefined ? `id: ${id}\n` : ''}data: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: ignored by EventSource, keeps proxies and load balancers from idling out. */
export function formatSseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/** How long the browser waits before reconnecting (§9.2.6 `retry`). */
export function formatSseRetry(ms: number): string {
  return `retry: ${Math.max(0, Math.floor(ms))}\n\n`;
}
