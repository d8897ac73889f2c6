// Re-exports of the orchestrator's metrics module.
export { createOrchestratorMetrics, type OrchestratorMetrics, type OrchestratorMetricsDeps } from './orchestrator-metrics.js';
export { DEFAULT_METRICS_LIMITS, type MetricsLimits } from './limits.js';
export { ENGINE_QUEUES } from './queue-metrics.js';
