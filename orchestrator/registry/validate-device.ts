// Validation of one device as it arrives (POST /devices, an NDJSON line, a CSV row): syntax of
// every field, bounded lists, and the public key's 32-byte encoding. The curve checks on the
// key are the key checker's job (they cost ~1 ms each; see key-checker.ts).
import { decodePublicKey, isDeviceId, isNameId } from '../../protocol/index.js';
import { REGISTRY_LIMITS } from './limits.js';

export interface DeviceInput {
  id: string;
  /** base64url of the raw 32-byte Ed25519 public key (docs/protocol.md#basics). */
  publicKey: string;
  vendorId: string;
  classId: string;
  groups: string[];
  tags: string[];
}

export type DeviceInputResult = { ok: true; device: DeviceInput } | { ok: false; code: string; message: string };

const FIELDS = new Set(['id', 'publicKey', 'vendorId', 'classId', 'groups', 'tags']);

function fail(code: string, message: string): DeviceInputResult {
  return { ok: false, code, message };
}

function nameList(value: unknown, what: 'groups' | 'tags', max: number): string[] | string {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return `${what} must be an array of names`;
  if (value.length > max) return `at most ${max} ${what}`;
  for (const name of value) {
    if (!isNameId(name)) return `${what} entries match [A-Za-z0-9._-]{1,64}`;
  }
  return [...new Set(value as string[])];
}

/** Checks a decoded JSON value (or a CSV row turned into one); never throws. */
export function validateDeviceInput(value: unknown): DeviceInputResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail('bad_schema', 'a device is a JSON object');
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!FIELDS.has(key)) return fail('bad_schema', `unknown field ${JSON.stringify(key.slice(0, 64))}`);
  }
  // docs/protocol.md#basics: device ids match ^[A-Za-z0-9_-]{1,64}$.
  if (!isDeviceId(record.id)) return fail('invalid_device_id', 'id must match [A-Za-z0-9_-]{1,64}');
  if (typeof record.publicKey !== 'string' || record.publicKey.length > 64 || !decodePublicKey(record.publicKey)) {
    return fail('invalid_public_key', 'publicKey must be the base64url (no padding) of 32 bytes');
  }
  if (!isNameId(record.vendorId)) return fail('invalid_vendor_id', 'vendorId must match [A-Za-z0-9._-]{1,64}');
  if (!isNameId(record.classId)) return fail('invalid_class_id', 'classId must match [A-Za-z0-9._-]{1,64}');
  const groups = nameList(record.groups, 'groups', REGISTRY_LIMITS.maxGroupsPerDevice);
  if (typeof groups === 'string') return fail('invalid_groups', groups);
  const tags = nameList(record.tags, 'tags', REGISTRY_LIMITS.maxTagsPerDevice);
  if (typeof tags === 'string') return fail('invalid_tags', tags);
  return { ok: true, device: { id: record.id, publicKey: record.publicKey, vendorId: record.vendorId, classId: record.classId, groups, tags } };
}
