// Worker thread of the key checker (a piscina task): protocol's full public key check on a
// batch of keys, so that ~1 ms of curve arithmetic per key never blocks the HTTP event loop.
import { isAcceptableWireKey } from './acceptable-key.js';

/** One verdict per key, in order. */
export default function checkKeys(keys: string[]): boolean[] {
  return keys.map(isAcceptableWireKey);
}
