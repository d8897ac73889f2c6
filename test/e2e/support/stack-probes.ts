// Read-only probes of a running process stack over its public interfaces (HTTP API, MQTT), and
// polling with a deadline instead of fixed sleeps. Nothing here changes the system under test.
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonCall } from '../../../api-client/index.js';
import type { ProcessStack } from '../../support/process-stack.js';
import type { DeviceRecord } from '../../../state/device-record.js';
import type { DeviceState } from '../../../protocol/index.js';
export { freePort } from '../../support/free-port.js';

/** Polls `check` every `intervalMs` until it returns true; throws with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string | (() => string), intervalMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(intervalMs);
  }
}


export interface RolloutDeviceEntry {
  id: string;
  state: DeviceState;
  wave: number;
  counter: number;
  progress: number;
  reason: string;
}

/** Every device entry of a rollout, through GET /v1/rollouts/:id/devices and its cursor. */
export async function rolloutDevices(api: JsonCall, rolloutId: string): Promise<Map<string, RolloutDeviceEntry>> {
  const out = new Map<string, RolloutDeviceEntry>();
  let cursor: string | undefined;
  for (let page = 0; page < 1_000; page++) {
    const query = `limit=500${cursor ? `&cursor=${cursor}` : ''}`;
    const reply = await api<{ devices: RolloutDeviceEntry[]; cursor?: string }>('GET', `/v1/rollouts/${rolloutId}/devices?${query}`);
    for (const entry of reply.devices) out.set(entry.id, entry);
    cursor = reply.cursor;
    if (!cursor) break;
  }
  return out;
}

/** Registry records (GET /v1/devices/:id) of `ids`, a few requests at a time. */
export async function registryRecords(api: JsonCall, ids: readonly string[]): Promise<Map<string, DeviceRecord>> {
  const out = new Map<string, DeviceRecord>();
  const concurrency = 16;
  for (let i = 0; i < ids.length; i += concurrency) {
    const records = await Promise.all(ids.slice(i, i + concurrency).map((id) => api<DeviceRecord>('GET', `/v1/devices/${id}`)));
    for (const record of records) out.set(record.id, record);
  }
  return out;
}

/** Tally of entries per state. */
export function tallyStates(entries: Iterable<RolloutDeviceEntry>): Partial<Record<DeviceState, number>> {
  const tally: Partial<Record<DeviceState, number>> = {};
  for (const entry of entries) tally[entry.state] = (tally[entry.state] ?? 0) + 1;
  return tally;
}

/** The orchestrator's readiness (public route) and that its process is alive. */
export async function orchestratorReady(stack: ProcessStack): Promise<{ alive: boolean; status: number; body: unknown }> {
  const response = await fetch(`${stack.apiUrl}/v1/readyz`);
  return { alive: stack.orchestrator.process.exitCode === null && stack.orchestrator.process.signalCode === null, status: response.status, body: await response.json() };
}
