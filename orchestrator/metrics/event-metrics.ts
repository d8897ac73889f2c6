// Metrics counted where the event happens, in this process: a device's rejection or install
// failure when ingestion applies the report, the time from a wave's notification to a device's
// success, HTTP request latency, artifact bytes served, and the build. Counters here only ever
// go up (they restart from 0 with the process, which rate() handles); aggregate them across
// orchestrator processes with sum(): each report is applied, and each request served, by one.
import { createRequire } from 'node:module';
import type { RedisClient as Redis } from '../../state/redis.js';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { REASON_CODES } from '../../protocol/index.js';
import { RolloutState } from '../../state/rollouts/rollout-state.js';

export interface EventMetricsOptions {
  /** Upper bounds (seconds) of the notify-to-succeeded histogram: minutes to a day. */
  updateBuckets: number[];
  /** Upper bounds (seconds) of the HTTP latency histogram. */
  httpBuckets: number[];
  /** Waves whose notification start is remembered (one Redis read per wave, not per report). */
  maxWavesCached: number;
}

export const DEFAULT_EVENT_METRICS_OPTIONS: EventMetricsOptions = {
  updateBuckets: [10, 30, 60, 120, 300, 600, 1_200, 1_800, 3_600, 7_200, 21_600, 86_400],
  httpBuckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  maxWavesCached: 1_000,
};

/** What ingestion hands over for each report it applied. */
export interface AppliedReport {
  rolloutId: string;
  state: string;
  reason?: string;
}

export interface HttpObserver {
  /** One finished request; `route` is the route pattern (never the URL: ids are not labels). */
  request(method: string, route: string, statusCode: number, seconds: number): void;
  /** Bytes of an artifact body sent to a client. */
  artifactBytes(bytes: number): void;
}

export interface EventMetrics {
  http: HttpObserver;
  /** Called by ingestion for each report it applied (state moved forward). */
  reportApplied(report: AppliedReport, wave: number): void;
  /** Settles pending wave lookups (tests). */
  idle(): Promise<void>;
}

const REASONS: ReadonlySet<string> = new Set(REASON_CODES);

function packageVersion(): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function registerEventMetrics(registry: Registry, redis: Redis, prefix: string, now: () => number, options: Partial<EventMetricsOptions> = {}): EventMetrics {
  const o = { ...DEFAULT_EVENT_METRICS_OPTIONS, ...options };
  const rollouts = new RolloutState(redis, prefix);
  const rejections = new Counter({
    name: 'fleet_device_rejections_total',
    help: 'Directives or releases a device refused (state rejected), by reason code; counted when ingestion applies the report.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const failures = new Counter({
    name: 'fleet_install_failures_total',
    help: 'Updates a device accepted but could not install (state failed), by reason code; counted when ingestion applies the report.',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  // Every reason is exported from the start (at 0) so rate() queries see the series.
  for (const reason of REASON_CODES) {
    rejections.inc({ reason }, 0);
    failures.inc({ reason }, 0);
  }
  const succeeded = new Histogram({
    name: 'fleet_update_succeeded_seconds',
    help: 'Seconds from the start of a wave\'s notification to ingestion applying a device\'s succeeded report (includes any notification rate limit).',
    buckets: o.updateBuckets,
    registers: [registry],
  });
  const http = new Histogram({
    name: 'fleet_http_request_duration_seconds',
    help: 'HTTP requests served by the orchestrator API, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: o.httpBuckets,
    registers: [registry],
  });
  const bytes = new Counter({
    name: 'fleet_artifact_bytes_served_total',
    help: 'Artifact bytes sent to clients (GET /v1/artifacts, whole or ranges).',
    registers: [registry],
  });
  new Gauge({
    name: 'fleet_build_info',
    help: 'Always 1: the running build (package version, Node.js version).',
    labelNames: ['component', 'version', 'node_version'] as const,
    registers: [registry],
  }).set({ component: 'orchestrator', version: packageVersion(), node_version: process.version }, 1);

  // Notification start of a wave (epoch seconds), read once per wave; a bounded map (oldest out).
  const waveStart = new Map<string, Promise<number | undefined>>();
  const pending = new Set<Promise<unknown>>();
  const notifyStartedAt = (rolloutId: string, wave: number): Promise<number | undefined> => {
    const key = `${rolloutId}\u0000${wave}`;
    let known = waveStart.get(key);
    if (!known) {
      known = rollouts.waveNotifyStartedAt(rolloutId, wave);
      waveStart.set(key, known);
      // A failed or empty read is tried again next time.
      known.then((v) => v === undefined && waveStart.delete(key), () => waveStart.delete(key));
      if (waveStart.size > o.maxWavesCached) waveStart.delete(waveStart.keys().next().value!);
    }
    return known;
  };

  return {
    http: {
      request(method, route, statusCode, seconds) {
        http.observe({ method, route, status_code: String(statusCode) }, seconds);
      },
      artifactBytes(n) {
        if (n > 0) bytes.inc(n);
      },
    },
    reportApplied(report, wave) {
      const reason = report.reason && REASONS.has(report.reason) ? report.reason : 'other';
      if (report.state === 'rejected') rejections.inc({ reason });
      else if (report.state === 'failed') failures.inc({ reason });
      else if (report.state === 'succeeded' && wave >= 0) {
        const at = now();
        const done = notifyStartedAt(report.rolloutId, wave).then((started) => {
          if (started !== undefined) succeeded.observe(Math.max(0, at / 1000 - started));
        }, () => undefined);
        pending.add(done);
        void done.finally(() => pending.delete(done));
      }
    },
    async idle() {
      await Promise.all([...pending]);
    },
  };
}
