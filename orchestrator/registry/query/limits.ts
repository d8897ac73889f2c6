// Named limits of device queries (docs/design.md#device-queries): every query is bounded before
// it is evaluated against a device.

export const QUERY_LIMITS = {
  /** Characters in one query. */
  maxChars: 2048,
  /** Comparisons (`field op value`) in one query. */
  maxComparisons: 64,
  /** Nesting of parentheses. */
  maxDepth: 16,
  /** Values in one `=in=` / `=out=` list. */
  maxListValues: 256,
  /** Characters in one value. */
  maxValueChars: 256,
} as const;
