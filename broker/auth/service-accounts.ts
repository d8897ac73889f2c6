// Service account credentials (orchestrator, dashboards): a high-entropy random secret as the
// MQTT password, stored only as its SHA-256. Comparison is constant-time on the digests.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServiceAccount } from '../config/broker-config.js';

/** 32 random bytes, base64url: what an operator puts in the service's own config. */
export function generateServiceSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** The `secretSha256` to put in FLEET_BROKER_SERVICE_ACCOUNTS for a secret. */
export function hashServiceSecret(secret: string | Uint8Array): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** True when `password` hashes to the account's secretSha256; never short-circuits on content. */
export function verifyServiceSecret(account: ServiceAccount, password: Uint8Array | undefined): boolean {
  if (password === undefined || password.length === 0) return false;
  const presented = createHash('sha256').update(password).digest();
  const expected = Buffer.from(account.secretSha256, 'hex');
  return expected.length === presented.length && timingSafeEqual(presented, expected);
}

export function serviceAccountIndex(accounts: readonly ServiceAccount[]): ReadonlyMap<string, ServiceAccount> {
  return new Map(accounts.map((account) => [account.username, account]));
}
