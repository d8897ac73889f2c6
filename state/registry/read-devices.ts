// Reads of device records: one record, many records (one pipeline), or one field of many (the
// installed sequence a rollout's pre-flight checks, the installed release targeting filters by).
import type { RedisClient as Redis } from '../redis.js';
import { decodeDeviceRecord, type DeviceRecord } from '../device-record.js';
import { deviceKey } from './device-keys.js';

export async function readDevice(redis: Redis, prefix: string, deviceId: string): Promise<DeviceRecord | undefined> {
  return decodeDeviceRecord(await redis.hgetall(deviceKey(prefix, deviceId)));
}

/** The records of `deviceIds`, in order (undefined: not registered). */
export async function readDevices(redis: Redis, prefix: string, deviceIds: readonly string[]): Promise<Array<DeviceRecord | undefined>> {
  if (deviceIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of deviceIds) pipeline.hgetall(deviceKey(prefix, id));
  const replies = (await pipeline.exec()) ?? [];
  return deviceIds.map((_, i) => {
    const [error, fields] = replies[i] ?? [null, {}];
    if (error) throw error;
    return decodeDeviceRecord((fields ?? {}) as Record<string, string>);
  });
}

/** Record fields that are plain strings (no codec): what readDeviceField may read. */
export type PlainDeviceField = 'installedReleaseId' | 'installedSequence' | 'rolloutId' | 'presence' | 'presenceAt' | 'lastSeenAt' | 'createdAt' | 'revoked';

/** One field of each device, in order (null: absent). */
export async function readDeviceField(redis: Redis, prefix: string, deviceIds: readonly string[], field: PlainDeviceField): Promise<Array<string | null>> {
  if (deviceIds.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of deviceIds) pipeline.hget(deviceKey(prefix, id), field);
  const replies = (await pipeline.exec()) ?? [];
  return deviceIds.map((_, i) => {
    const [error, value] = replies[i] ?? [null, null];
    if (error) throw error;
    return (value ?? null) as string | null;
  });
}
