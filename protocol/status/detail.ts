// A status report's `detail` is measured in Unicode code points (docs/protocol.md#status-report),
// not UTF-16 units, so a port in any language counts it the same way.
import { LIMITS } from '../limits.js';

/** Unicode code points in `text` (a surrogate pair is one). */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** `text` cut to at most LIMITS.statusDetailChars code points, never inside a surrogate pair. */
export function clipDetail(text: string): string {
  if (text.length <= LIMITS.statusDetailChars) return text;
  return Array.from(text).slice(0, LIMITS.statusDetailChars).join('');
}
