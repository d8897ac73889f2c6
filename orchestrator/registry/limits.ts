// Named limits of the device registry (STYLE.md: limits are configuration with safe defaults).

export const REGISTRY_LIMITS = {
  /** Groups and tags one device may carry. */
  maxGroupsPerDevice: 32,
  maxTagsPerDevice: 32,
  /** Free-form attributes (string map) one device may carry, and their sizes. */
  maxAttributesPerDevice: 32,
  maxAttributeValueChars: 256,
  /** Characters in one NDJSON / CSV import line. */
  maxImportLineChars: 8 * 1024,
  /** Devices written per Redis script call during a bulk import. */
  importBatchSize: 1000,
  /** Per-line failures returned by an import (the count is always exact). */
  maxReportedFailures: 100,
  /** Device list page size: default and maximum. */
  defaultPageSize: 100,
  maxPageSize: 1000,
  /** Candidates a filtered list examines per request before it returns a cursor. */
  maxScannedPerPage: 10_000,
  /** Ids per Redis round trip when a pass walks an index (targeting, pre-flight). */
  scanChunk: 2000,
  /** Fleet summary: how often a process checks the fleet counters against the indexes (fleet-summary.ts). */
  fleetCounterCheckMs: 60_000,
  /** Public key cache for status verification: entries and lifetime. */
  publicKeyCacheEntries: 50_000,
  publicKeyCacheMs: 30_000,
  /** How long "unknown or revoked" is remembered. */
  publicKeyNegativeCacheMs: 2_000,
} as const;
