export { toBase64url, fromBase64url } from './base64url.js';
export { toHex, fromHex } from './hex.js';
export { utf8, fromUtf8 } from './utf8.js';
export { canonicalJson, canonicalJsonUnchecked, canonicalBytes, assertSignedBodyNumbers } from './canonical.js';
export { hasOnlyIntegerLiterals } from './integer-literals.js';
export { hasDuplicateMembers } from './duplicate-members.js';
