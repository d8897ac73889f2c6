// Reads one device record, including what status ingestion wrote (installed release, last
// status, last seen, presence). Read-only.
import type { Redis } from 'ioredis';
import { decodeDeviceRecord, registryKeys, type DeviceRecord } from '../../state/device-record.js';

export async function getDevice(redis: Redis, prefix: string, deviceId: string): Promise<DeviceRecord | undefined> {
  return decodeDeviceRecord(await redis.hgetall(registryKeys(prefix).device(deviceId)));
}
