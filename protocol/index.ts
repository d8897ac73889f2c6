// fleet-ota wire protocol v1 (docs/protocol.md): the pure contract shared by devices, broker and orchestrator.
export * from './errors.js';
export * from './limits.js';
export * from './time.js';
export * from './ids.js';
export * from './states.js';
export * from './encoding/index.js';
export * from './crypto/index.js';
export * from './schemas/index.js';
export * from './trust/envelope.js';
export * from './trust/root-chain.js';
export * from './device/check-directive.js';
export * from './device/policy.js';
export * from './status/verify-status.js';
export * from './status/detail.js';
export * from './status/report-order.js';
export * from './builders.js';
export * from './token.js';
