// The full check of a device public key as it arrives on the wire, shared by the key checker
// and its worker threads. Pure: no I/O.
import { decodePublicKey, isPrimeOrderPublicKey } from '../../protocol/index.js';

/** docs/protocol.md#basics: 32 raw bytes in base64url; strict-checks: canonical, prime-order subgroup point. */
export function isAcceptableWireKey(text: string): boolean {
  const publicKey = decodePublicKey(text);
  return publicKey !== undefined && isPrimeOrderPublicKey(publicKey);
}
