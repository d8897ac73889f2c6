// The orchestrator API client: one transport, one error, typed shared calls.
export * from './api-call-error.js';
export * from './create-api-client.js';
export * from './endpoints.js';
