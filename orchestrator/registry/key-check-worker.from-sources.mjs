// The key check worker when running from the TypeScript sources (development, tests): worker
// threads do not inherit the parent's tsx loader, so this registers it before loading the
// worker. Compiled builds (dist/) load key-check-worker.js directly and never use this file.
const { register } = await import('tsx/esm/api');
register();
const worker = await import('./key-check-worker.ts');
export default worker.default;
