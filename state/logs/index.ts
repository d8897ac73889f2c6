// The event log, the audit log and the broker refusal channel in Redis. Re-exports only.
export { auditLogKey, brokerEventsChannel, eventLogKey } from './keys.js';
export { JsonStream, type StreamEntry, type StreamTrimInfo } from './json-stream.js';
