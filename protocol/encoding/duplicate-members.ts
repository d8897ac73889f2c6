// docs/protocol.md#basics: wire JSON is I-JSON (RFC 7493 §2.3), the input RFC 8785 assumes: an
// object never names a member twice. JSON.parse keeps the last duplicate silently, so two
// parsers could read one signed body two ways; the rule is checked on the text. Hand-written
// (one pass, no allocation beyond the key sets) because protocol/ takes no parser dependency
// and the text has already parsed as JSON, so only structure and strings need tracking.

/** True when some object in `text` (valid JSON) names a member twice, escapes decoded. */
export function hasDuplicateMembers(text: string): boolean {
  // One frame per open container: a key set for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const start = i;
      i++;
      while (i < n) {
        const s = text.charCodeAt(i);
        if (s === 0x5c /* \ */) i += 2;
        else if (s === 0x22) break;
        else i++;
      }
      i++;
      const keys = stack[stack.length - 1];
      if (expectKey && keys) {
        // Decode escapes, so "a" and "\u0061" are the same member.
        const key = JSON.parse(text.slice(start, i)) as string;
        if (keys.has(key)) return true;
        keys.add(key);
        expectKey = false;
      }
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
      expectKey = false;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] instanceof Set;
    }
    i++;
  }
  return false;
}
