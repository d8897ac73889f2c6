// One error model for the contract: a stable `code` per failure. Hostile input maps to a
// docs/protocol.md reason code; caller bugs (wrong argument types, missing keys) are a separate family.

/** Reason codes a device reports with `rejected` or `failed` (docs/protocol.md#reason-codes). */
export const REASON_CODES = [
  'too_large',
  'bad_schema',
  'root_invalid',
  'root_expired',
  'directive_signature',
  'not_addressed',
  'directive_expired',
  'replayed',
  'release_signature',
  'release_expired',
  'ownership_signature',
  'ownership_not_addressed',
  'ownership_replayed',
  'owner_revoked',
  'owner_signature',
  'device_not_listed',
  'digest_mismatch',
  'wrong_target',
  'rollback',
  'needs_intermediate',
  'download_failed',
  'size_exceeded',
  'hash_mismatch',
  'install_failed',
  'health_check_failed',
  'declined',
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/** Hostile or malformed input: the message is refused with `code`, nothing crashes. */
export class ProtocolError extends Error {
  readonly code: ReasonCode;
  constructor(code: ReasonCode, message: string) {
    super(message);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

/** A caller bug (wrong key length, unknown role): never caused by what arrives on the wire. */
export class UsageError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'UsageError';
    this.code = code;
  }
}
