// Validation of one device as it arrives (POST /devices, an NDJSON line, a CSV row): syntax of
// every field, bounded lists, and the public key's 32-byte encoding. The curve checks on the
// key are the key checker's job (they cost ~1 ms each; see key-checker.ts).
import { decodePublicKey, isDeviceId, isNameId } from '../../protocol/index.js';
import type { DeviceInputCode } from './errors.js';
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

export type DeviceInputResult = { ok: true; device: DeviceInput } | { ok: false; code: DeviceInputCode; message: string };

const FIELDS = new Set(['id', 'publicKey', 'vendorId', 'classId', 'groups', 'tags']);

function fail(code: DeviceInputCode, message: string): DeviceInputResult {
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

/** PATCH /v1/devices/:id: groups and tags replace the lists, attributes merge (null removes one). */
export interface DevicePatch {
  groups?: string[];
  tags?: string[];
  attributes?: Record<string, string | null>;
}

export type DevicePatchResult = { ok: true; patch: DevicePatch } | { ok: false; code: DeviceInputCode; message: string };

const PATCH_FIELDS = new Set(['groups', 'tags', 'attributes']);
/** Attribute names: the registry's name syntax, so they can appear in filters and CSV headers. */
const ATTRIBUTE_NAME = /^[A-Za-z0-9._-]{1,64}$/;

export function validateDevicePatch(value: unknown): DevicePatchResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, code: 'bad_schema', message: 'a device patch is a JSON object' };
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  for (const key of keys) {
    if (!PATCH_FIELDS.has(key)) return { ok: false, code: 'bad_schema', message: `unknown field ${JSON.stringify(key.slice(0, 64))}; a patch has groups, tags and/or attributes` };
  }
  if (keys.length === 0) return { ok: false, code: 'bad_schema', message: 'an empty patch changes nothing: give groups, tags and/or attributes' };
  const patch: DevicePatch = {};
  if (record.groups !== undefined) {
    const groups = nameList(record.groups, 'groups', REGISTRY_LIMITS.maxGroupsPerDevice);
    if (typeof groups === 'string') return { ok: false, code: 'invalid_groups', message: groups };
    patch.groups = groups;
  }
  if (record.tags !== undefined) {
    const tags = nameList(record.tags, 'tags', REGISTRY_LIMITS.maxTagsPerDevice);
    if (typeof tags === 'string') return { ok: false, code: 'invalid_tags', message: tags };
    patch.tags = tags;
  }
  if (record.attributes !== undefined) {
    const attributes = record.attributes;
    if (typeof attributes !== 'object' || attributes === null || Array.isArray(attributes)) return { ok: false, code: 'invalid_attributes', message: 'attributes is an object of string values (null removes one)' };
    const entries = Object.entries(attributes);
    if (entries.length > REGISTRY_LIMITS.maxAttributesPerDevice) return { ok: false, code: 'too_many_attributes', message: `at most ${REGISTRY_LIMITS.maxAttributesPerDevice} attributes` };
    for (const [name, v] of entries) {
      if (!ATTRIBUTE_NAME.test(name)) return { ok: false, code: 'invalid_attributes', message: 'attribute names match [A-Za-z0-9._-]{1,64}' };
      if (v !== null && (typeof v !== 'string' || v.length > REGISTRY_LIMITS.maxAttributeValueChars)) {
        return { ok: false, code: 'invalid_attributes', message: `attribute ${name}: a string of at most ${REGISTRY_LIMITS.maxAttributeValueChars} characters, or null to remove it` };
      }
    }
    patch.attributes = attributes as Record<string, string | null>;
  }
  return { ok: true, patch };
}
