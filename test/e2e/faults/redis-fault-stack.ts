// Shared set-up of the Redis fault tests: a private redis-server the test may fill, kill and
// restart, `fleet-ota broker` + `fleet-ota serve` as child processes on it, a small healthy fleet
// whose every report is recorded, and the end check: the orchestrator's entry for each device
// is what that device last reported (so no report a device had acknowledged was lost).
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import { connectFleet, provisionFleet, type FleetHandle, type SimDevice } from '../../../device-sim/sim/index.js';
import { startProcessStack, type ProcessStack } from '../../support/process-stack.js';
import type { RolloutView } from '../../../orchestrator/rollouts/model.js';
import { startPrivateRedis, type PrivateRedis, type PrivateRedisOptions } from '../../support/private-redis.js';
import { ReportLog } from '../support/report-log.js';
import { rolloutDevices, tallyStates } from '../support/stack-probes.js';

export interface RedisFaultStack {
  redis: PrivateRedis;
  stack: ProcessStack;
  fleet: FleetHandle;
  devices: readonly SimDevice[];
  log: ReportLog;
  close(): Promise<void>;
}

export interface RedisFaultStackOptions {
  devices: number;
  idPrefix: string;
  /** Device profiles (device-sim/sim/profiles.ts), default healthy. */
  profiles?: string;
  /** slow-network download speed: sets how long each device takes, so a fault lands mid-update. */
  slowBytesPerSecond?: number;
  redisArgs?: PrivateRedisOptions['args'];
  orchestratorEnv?: Record<string, string>;
}

export async function startRedisFaultStack(options: RedisFaultStackOptions): Promise<RedisFaultStack> {
  const redis = await startPrivateRedis({ args: options.redisArgs ?? [] });
  let stack: ProcessStack | undefined;
  let fleet: FleetHandle | undefined;
  const close = async () => {
    await fleet?.stop();
    await stack?.close().catch(() => undefined);
    await redis.stop();
  };
  try {
    stack = await startProcessStack({
      redisUrl: redis.url,
      prefix: `test:fault:${randomBytes(4).toString('hex')}:`,
      orchestratorEnv: { LOG_LEVEL: 'info', ...options.orchestratorEnv },
    });
    const provisioned = await provisionFleet({ root: stack.root, vendorId: stack.vendorId, classId: stack.classId, seed: 21, count: options.devices, idPrefix: options.idPrefix, profiles: options.profiles ?? 'healthy' });
    await stack.registerDevices(provisioned.devices);
    const log = new ReportLog();
    fleet = await connectFleet(provisioned, { brokerUrl: stack.brokerUrl, connectConcurrency: 50, ...(options.slowBytesPerSecond ? { tuning: { slowBytesPerSecond: options.slowBytesPerSecond } } : {}) });
    expect(fleet.connected()).toBe(provisioned.devices.length);
    log.attach(fleet);
    return { redis, stack, fleet, devices: provisioned.devices, log, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The orchestrator's per-device entries equal what each device last reported, counter included. */
export async function expectEntriesMatchDevices(stack: ProcessStack, log: ReportLog, rolloutId: string, deviceIds: readonly string[], view: RolloutView): Promise<void> {
  const entries = await rolloutDevices(stack.api, rolloutId);
  expect(entries.size).toBe(deviceIds.length);
  for (const id of deviceIds) {
    const entry = entries.get(id)!;
    const last = log.last(id, rolloutId)!;
    expect({ id, state: entry.state, counter: entry.counter, reason: entry.reason }).toEqual({ id, state: last.state, counter: last.counter, reason: last.reason ?? '' });
  }
  expect(tallyStates(entries.values())).toEqual(view.counts);
}

export async function usedMemory(redis: PrivateRedis): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await redis.admin.info('memory'))![1]);
}

/**
 * Drives the private Redis to maxmemory: sets it a little above what Redis holds, fills it with
 * `junkKey` until Redis refuses, then lowers the limit just under what it now holds so that
 * small frees do not let writes through. Deleting `junkKey` frees memory again.
 */
export async function fillToMaxmemory(redis: PrivateRedis, junkKey: string): Promise<void> {
  await redis.admin.config('SET', 'maxmemory', String((await usedMemory(redis)) + 8 * 1024 * 1024));
  const chunk = 'x'.repeat(64 * 1024);
  for (let i = 0; i < 10_000; i++) {
    try {
      await redis.admin.rpush(junkKey, chunk);
    } catch (error) {
      if (!/OOM/.test((error as Error).message)) throw error;
      await redis.admin.config('SET', 'maxmemory', String((await usedMemory(redis)) - 1024 * 1024));
      return;
    }
  }
  throw new Error('Redis never reached maxmemory');
}
