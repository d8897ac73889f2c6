// The fleet simulator: many reference agents in one process. Re-exports only.
export * from './profiles.js';
export * from './tuning.js';
export * from './rng.js';
export * from './provision.js';
export * from './device-kit.js';
export * from './connect.js';
export * from './orchestrator-api.js';
export * from './live-counts.js';
