import { describe, expect, it } from 'vitest';
import { hasOnlyIntegerLiterals } from '../../../protocol/encoding/integer-literals.js';

describe('hasOnlyIntegerLiterals', () => {
  it.each(['{"a":0}', '{"a":10,"b":[1,2,3]}', '{"s":"3.0 -1 1e5"}', '{"s":"esc \\" 1.5"}', '{}', '"x"'])('accepts %s', (text) => {
    expect(hasOnlyIntegerLiterals(text)).toBe(true);
  });
  it.each(['{"a":0.0}', '{"a":-0}', '{"a":1.1e1}', '{"a":1e3}', '{"a":11.000}', '{"a":01}', '{"a":-5}', '{"s":"\\\\","a":2.5}'])('refuses %s', (text) => {
    expect(hasOnlyIntegerLiterals(text)).toBe(false);
  });
});
