// Named limits of the orchestrator's /metrics (STYLE.md: limits are configuration with safe
// defaults). They bound the Redis work one scrape may cause, whatever the fleet's size.

export interface MetricsLimits {
  /** Rollouts read per scrape for `fleet_rollouts{status}`, newest first. */
  maxRollouts: number;
  /** A finished rollout keeps its per-rollout series this long, so its final numbers get scraped. */
  finishedRolloutSeconds: number;
  /** A scrape that takes longer answers 503 instead of hanging the scraper. */
  scrapeTimeoutMs: number;
}

export const DEFAULT_METRICS_LIMITS: MetricsLimits = {
  maxRollouts: 10_000,
  finishedRolloutSeconds: 900,
  scrapeTimeoutMs: 10_000,
};
