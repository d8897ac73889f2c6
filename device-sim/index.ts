// device-sim: the reference device agent and the fleet simulator. Shares only protocol/ with
// the server side. Re-exports only.
export * from './agent/index.js';
export * from './sim/index.js';
