// docs/protocol.md#basics: every number inside a signed body is an integer, with no float anywhere. JSON.parse
// reads `3.0`, `-0` and `1.1e1` as integers, so the rule is checked on the text itself: every
// number token outside strings must be a plain non-negative integer literal.

const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** True when every number token in `text` (outside strings) matches `0|[1-9][0-9]*`. */
export function hasOnlyIntegerLiterals(text: string): boolean {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string, escapes included.
      i++;
      while (i < n) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i += 2;
        else if (s === 0x22) break;
        else i++;
      }
      i++;
      continue;
    }
    if (c === 0x2d /* - */) return false;
    if (c >= DIGIT_0 && c <= DIGIT_9) {
      const start = i;
      while (i < n && text.charCodeAt(i) >= DIGIT_0 && text.charCodeAt(i) <= DIGIT_9) i++;
      if (text.charCodeAt(start) === DIGIT_0 && i - start > 1) return false;
      const next = text.charCodeAt(i);
      if (next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */) return false;
      continue;
    }
    i++;
  }
  return true;
}
