export { type Ed25519, nobleEd25519, requireSeed } from './ed25519.js';
export { sha256, sha256Hex } from './hash.js';
export { keyIdOf, encodePublicKey, decodePublicKey, type SigningKey } from './keys.js';
export { hasCanonicalS, isAcceptablePublicKey, isPrimeOrderPublicKey, passesStrictChecks } from './strict-checks.js';
