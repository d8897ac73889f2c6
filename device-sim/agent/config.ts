// The agent's limits and timings, named in one place with safe defaults (STYLE.md §7).

export interface AgentConfig {
  /** A `downloading` report is sent when progress moved by at least this many percent... */
  progressStepPercent: number;
  /** ...or this many seconds passed since the last one (and progress moved at all). */
  progressIntervalSeconds: number;
  /** How often a deferred install re-evaluates its policy (window, consent, deadline). */
  deferRecheckMs: number;
  /** Reports kept while offline; past it the oldest `downloading` reports are dropped first. */
  maxOutbox: number;
  /** After an unacknowledged publish on a live connection, the outbox is retried this soon. */
  reportRetryMs: number;
}

export const DEFAULT_AGENT_CONFIG: Readonly<AgentConfig> = {
  progressStepPercent: 10,
  progressIntervalSeconds: 5,
  deferRecheckMs: 60_000,
  maxOutbox: 256,
  reportRetryMs: 1_000,
};
