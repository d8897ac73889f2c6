// The rollout side of the state layer (re-exports only).
export * from './device-history.js';
export * from './device-page.js';
export * from './entry.js';
export * from './keys.js';
export * from './reconcile-state.js';
export * from './records.js';
export * from './rollout-state.js';
export * from './status-apply.js';
