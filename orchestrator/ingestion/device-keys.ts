// Device public keys for report verification: the one revocation-aware device-key cache of
// state/registry (the broker and the HTTP registry use it too). `new DeviceKeyCache(reader,
// prefix)` subscribes to the revocation channel on a connection of its own before its first
// read, so a revoked device's next report is refused at once, not after a time to live.
export { DeviceKeyCache } from '../../state/registry/index.js';
