// Names of the shared logs and channels that are not the registry's or a rollout's: the
// orchestrator's event log and audit log (capped streams, one key each) and the broker's
// refusal channel (pub/sub, brokers publish, orchestrators relay into the event log).

/** Stream: rollout and fleet events the SSE endpoint replays (orchestrator/events/event-log.ts). */
export function eventLogKey(prefix: string): string {
  return `${prefix}events`;
}

/** Stream: every operator action (orchestrator/audit/audit-log.ts). */
export function auditLogKey(prefix: string): string {
  return `${prefix}audit`;
}

/** Pub/sub channel of broker refusal counts (broker/observability/refusal-recorder.ts). */
export function brokerEventsChannel(prefix: string): string {
  return `${prefix}events:broker`;
}
