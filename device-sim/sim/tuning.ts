// Timings and rates of the simulated profiles, named with defaults (STYLE.md §7). Chosen so
// a demo rollout shows each behaviour within a few minutes.

export interface SimTuning {
  /** slow-network: download bandwidth, bytes per second. */
  slowBytesPerSecond: number;
  /** flaky-network: the MQTT connection is cut every [min, max] seconds... */
  flakyDropMinSeconds: number;
  flakyDropMaxSeconds: number;
  /** ...and each downloaded chunk may cut the HTTP connection (resumed with Range). */
  flakyDownloadDropChance: number;
  /** offline-then-back: goes offline within [0, this] seconds of connecting... */
  offlineAfterMaxSeconds: number;
  /** ...for [min, max] seconds, then reconnects and finds its retained directive. */
  offlineForMinSeconds: number;
  offlineForMaxSeconds: number;
  /** download-failure: how long the simulated retries take before `download_failed`. */
  downloadFailureAfterMs: number;
  /** window-closed: the device-local window opens this long after the fleet starts... */
  windowOpensAfterSeconds: number;
  /** ...and stays open this many minutes. */
  windowLengthMinutes: number;
  /** clock-skew: the device clock is off by up to this many seconds either way (the broker allows 60). */
  clockSkewMaxSeconds: number;
  /** How often a deferred install is re-evaluated. */
  deferRecheckMs: number;
  /** Progress reports: at most every N percent or T seconds. */
  progressStepPercent: number;
  progressIntervalSeconds: number;
  /** Downloads in flight across the whole simulated fleet (one shared connection pool). */
  downloadConcurrency: number;
}

export const DEFAULT_SIM_TUNING: Readonly<SimTuning> = {
  slowBytesPerSecond: 32 * 1024,
  flakyDropMinSeconds: 15,
  flakyDropMaxSeconds: 60,
  flakyDownloadDropChance: 0.2,
  offlineAfterMaxSeconds: 30,
  offlineForMinSeconds: 30,
  offlineForMaxSeconds: 90,
  downloadFailureAfterMs: 2_000,
  windowOpensAfterSeconds: 120,
  windowLengthMinutes: 60,
  clockSkewMaxSeconds: 45,
  deferRecheckMs: 10_000,
  progressStepPercent: 25,
  progressIntervalSeconds: 10,
  downloadConcurrency: 256,
};
