// The broker's wills and live runs in Redis (will-store.ts).
export { WillStore, decodeWill, willRunsKey, willsKey, type StoredWill, type WillPage } from './will-store.js';
