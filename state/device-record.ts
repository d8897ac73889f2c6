// The device record's codec (Redis hash fields <-> DeviceRecord): the registry writes records,
// status ingestion and the rollout scripts add to them, the broker and ingestion read keys and
// revocation from them.
import { deviceKey } from './registry/device-keys.js';
import { revokedChannel } from './registry/keys.js';

/**
 * The device record and revocation channel names under a deployment's prefix (default `fleet:`;
 * tests use a unique prefix per run). The registry's indexes: state/registry/keys.ts.
 */
export function registryKeys(prefix: string) {
  return {
    /** Hash per device: see DeviceRecord fields. */
    device: (deviceId: string) => deviceKey(prefix, deviceId),
    /** Pub/sub channel: a revoked device id is published here; every device-key cache drops it. */
    revokedChannel: revokedChannel(prefix),
  } as const;
}

/** Stored device record (all Redis hash fields are strings). */
export interface DeviceRecord {
  id: string;
  /** base64url of the raw 32-byte Ed25519 public key. */
  publicKey: string;
  vendorId: string;
  classId: string;
  groups: string[];
  tags: string[];
  /** Free-form string map (PATCH /v1/devices/:id), bounded by REGISTRY_LIMITS; decoded as {} when never set. */
  attributes?: Record<string, string>;
  /**
   * What the device last reported about itself in a status report's `attributes`
   * (docs/protocol.md#status-report: hwrev, freeStorage, free-form ones), replaced whole by each
   * report that carries them; written by status ingestion.
   */
  reportedAttributes?: Record<string, string | number>;
  /** The report time (`at`) of the report that carried `reportedAttributes`. */
  reportedAt?: string;
  revoked: boolean;
  createdAt: string;
  revokedAt?: string;
  /** Updated by status ingestion. */
  installedReleaseId?: string;
  installedSequence?: number;
  rootVersion?: number;
  lastStatus?: { rolloutId: string; state: string; reason?: string; at: string };
  lastSeenAt?: string;
  presence?: 'online' | 'offline';
  /** Epoch of the newest applied report (docs/protocol.md#status-report; written by status ingestion). */
  statusEpoch?: number;
  /** The last status report refused for its (epoch, seq), and how many were (docs/protocol.md#status-report). */
  statusRefused?: { reason: string; rolloutId: string; counter: number; epoch: number; seq: number; lastEpoch: number; lastSeq: number; at: string };
  statusRefusedCount?: number;
}

export function encodeDeviceRecord(record: DeviceRecord): Record<string, string> {
  const fields: Record<string, string> = {
    id: record.id,
    publicKey: record.publicKey,
    vendorId: record.vendorId,
    classId: record.classId,
    groups: JSON.stringify(record.groups),
    tags: JSON.stringify(record.tags),
    revoked: record.revoked ? '1' : '0',
    createdAt: record.createdAt,
  };
  if (record.attributes !== undefined) fields.attributes = JSON.stringify(record.attributes);
  if (record.reportedAttributes !== undefined) fields.reportedAttributes = JSON.stringify(record.reportedAttributes);
  if (record.reportedAt !== undefined) fields.reportedAt = record.reportedAt;
  if (record.revokedAt !== undefined) fields.revokedAt = record.revokedAt;
  if (record.installedReleaseId !== undefined) fields.installedReleaseId = record.installedReleaseId;
  if (record.installedSequence !== undefined) fields.installedSequence = String(record.installedSequence);
  if (record.rootVersion !== undefined) fields.rootVersion = String(record.rootVersion);
  if (record.lastStatus !== undefined) fields.lastStatus = JSON.stringify(record.lastStatus);
  if (record.lastSeenAt !== undefined) fields.lastSeenAt = record.lastSeenAt;
  if (record.presence !== undefined) fields.presence = record.presence;
  if (record.statusEpoch !== undefined) fields.statusEpoch = String(record.statusEpoch);
  if (record.statusRefused !== undefined) fields.statusRefused = JSON.stringify(record.statusRefused);
  if (record.statusRefusedCount !== undefined) fields.statusRefusedCount = String(record.statusRefusedCount);
  return fields;
}

function parseJson<T>(text: string | undefined, fallback: T): T {
  if (text === undefined) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Decodes a hash read with HGETALL; undefined for a missing (empty) hash. */
export function decodeDeviceRecord(fields: Record<string, string>): DeviceRecord | undefined {
  if (!fields.id || !fields.publicKey) return undefined;
  const record: DeviceRecord = {
    id: fields.id,
    publicKey: fields.publicKey,
    vendorId: fields.vendorId ?? '',
    classId: fields.classId ?? '',
    groups: parseJson<string[]>(fields.groups, []),
    tags: parseJson<string[]>(fields.tags, []),
    attributes: parseJson<Record<string, string>>(fields.attributes, {}),
    revoked: fields.revoked === '1',
    createdAt: fields.createdAt ?? '',
  };
  if (fields.reportedAttributes !== undefined) record.reportedAttributes = parseJson<Record<string, string | number>>(fields.reportedAttributes, {});
  if (fields.reportedAt !== undefined) record.reportedAt = fields.reportedAt;
  if (fields.revokedAt !== undefined) record.revokedAt = fields.revokedAt;
  if (fields.installedReleaseId !== undefined) record.installedReleaseId = fields.installedReleaseId;
  if (fields.installedSequence !== undefined) record.installedSequence = Number(fields.installedSequence);
  if (fields.rootVersion !== undefined) record.rootVersion = Number(fields.rootVersion);
  if (fields.lastStatus !== undefined) record.lastStatus = parseJson(fields.lastStatus, undefined);
  if (fields.lastSeenAt !== undefined) record.lastSeenAt = fields.lastSeenAt;
  if (fields.presence === 'online' || fields.presence === 'offline') record.presence = fields.presence;
  if (fields.statusEpoch !== undefined) record.statusEpoch = Number(fields.statusEpoch);
  if (fields.statusRefused !== undefined) record.statusRefused = parseJson(fields.statusRefused, undefined);
  if (fields.statusRefusedCount !== undefined) record.statusRefusedCount = Number(fields.statusRefusedCount);
  return record;
}
