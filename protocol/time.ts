// Wire times: RFC 3339 UTC, `Z`, whole seconds (docs/protocol.md#basics). Time is always passed in.

export const RFC3339_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/** Seconds since the epoch of a wire time; undefined if it is not one. */
export function parseWireTime(text: string): number | undefined {
  if (!RFC3339_SECONDS.test(text)) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2026-02-30 over to March; a round trip catches that.
  if (formatWireTime(ms / 1000) !== text) return undefined;
  return ms / 1000;
}

/** The wire form of a time given in epoch seconds (fractions dropped). */
export function formatWireTime(epochSeconds: number): string {
  return new Date(Math.floor(epochSeconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Epoch seconds of a Date, for callers that hold a clock. */
export function toEpochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
