// The fleet-ota half of the benchmark: a single-wave, uncapped rollout of a 1 KiB artifact to N
// simulated devices, with the broker and the orchestrator as separate processes (as deployed)
// and the devices in this one. Measures wall time, devices/s, notify->succeeded, orchestrator
// CPU and peak RSS, and Redis memory per device.
import { connectFleet, provisionFleet, type FleetHandle } from '../../device-sim/sim/index.js';
import { processUsage, startProcessStack, type ProcessStack } from '../../test/support/process-stack.js';
import { percentile, perSecond, round } from './stats.js';

export interface FleetBenchmarkOptions {
  devices: number;
  /** node flags for the orchestrator process, e.g. ['--cpu-prof', '--cpu-prof-dir=bench/results']. */
  orchestratorNodeArgs?: string[];
  timeoutMs?: number;
  onProgress?: (text: string) => void;
}

export interface FleetBenchmarkResult {
  kind: 'fleet-ota';
  devices: number;
  /** Rollout created -> every device reported succeeded. */
  wallMs: number;
  devicesPerSecond: number;
  succeeded: number;
  /** Per device: directive verified on the device (its `accepted` report) -> `succeeded` report, ms. */
  notifyToSucceededMs: { p50: number; p99: number; max: number };
  /** Per device: rollout created -> `succeeded` report received by the simulator, ms. */
  startToSucceededMs: { p50: number; p99: number; max: number };
  connectMs: number;
  orchestrator: { cpuSeconds: number; cpuPercentOfOneCore: number; peakRssBytes: number };
  broker: { cpuSeconds: number; peakRssBytes: number };
  /** The simulated devices (this process): their CPU competes with the product's on the same cores. */
  simulator: { cpuSeconds: number };
  redis: { usedBytesPerDevice: number; usedBytesBefore: number; usedBytesAfter: number };
}

async function usedMemory(stack: ProcessStack): Promise<number> {
  const info = await stack.redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

export async function runFleetBenchmark(options: FleetBenchmarkOptions): Promise<FleetBenchmarkResult> {
  const progress = options.onProgress ?? (() => undefined);
  const stack = await startProcessStack({
    brokerEnv: { FLEET_BROKER_MAX_CONNECTIONS: String(options.devices + 100), FLEET_BROKER_PUBLISHES_PER_CLIENT_PER_SEC: '0' },
    ...(options.orchestratorNodeArgs ? { orchestratorNodeArgs: options.orchestratorNodeArgs } : {}),
  });
  let fleet: FleetHandle | undefined;
  try {
    const memoryBefore = await usedMemory(stack);
    const provisioned = await provisionFleet({ count: options.devices, idPrefix: 'bench-', root: stack.root, vendorId: stack.vendorId, classId: stack.classId, profiles: 'healthy' });
    await stack.registerDevices(provisioned.devices);
    const release = await stack.publishRelease({ releaseId: 'bench-1', version: '1.0.1', sequence: 1 });
    progress(`connecting ${options.devices} devices`);
    const connecting = Date.now();
    fleet = await connectFleet(provisioned, { brokerUrl: stack.brokerUrl, connectConcurrency: 200 });
    const connectMs = Date.now() - connecting;
    progress(`${fleet.connected()} connected in ${(connectMs / 1000).toFixed(1)} s; rolling out`);

    const accepted = new Map<string, number>();
    const succeededAt = new Map<string, number>();
    let started = 0;
    let finish: () => void = () => undefined;
    const allDone = new Promise<void>((resolve) => {
      finish = resolve;
    });
    fleet.onReport(({ deviceId, report }) => {
      const now = performance.now();
      if (report.rolloutId === 'bench') {
        if (report.state === 'accepted') accepted.set(deviceId, now);
        if (report.state === 'succeeded') {
          succeededAt.set(deviceId, now);
          if (succeededAt.size === options.devices) finish();
        }
      }
    });
    const orchestratorPid = stack.orchestrator.process.pid!;
    const brokerPid = stack.broker.process.pid!;
    const cpuBefore = await processUsage(orchestratorPid);
    const brokerBefore = await processUsage(brokerPid);
    const simBefore = process.cpuUsage();
    started = performance.now();
    await stack.createRollout({ id: 'bench', releaseId: release.releaseId, target: { all: true }, waves: [{ percent: 100, successThreshold: 1, failureThreshold: 0 }] });
    const ticker = setInterval(() => progress(`succeeded ${succeededAt.size}/${options.devices}`), 1_000);
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`rollout not finished in ${options.timeoutMs ?? 300_000} ms: ${succeededAt.size} succeeded`)), options.timeoutMs ?? 300_000).unref());
    try {
      await Promise.race([allDone, timeout]);
    } finally {
      clearInterval(ticker);
    }
    const wallMs = performance.now() - started;
    const simCpu = process.cpuUsage(simBefore);
    const cpuAfter = await processUsage(orchestratorPid);
    const brokerAfter = await processUsage(brokerPid);
    // The orchestrator's own view agrees (ingestion may trail the devices by a moment).
    await stack.waitForRollout('bench', (v) => v.status === 'completed', 60_000);
    const memoryAfter = await usedMemory(stack);

    const notify = Float64Array.from([...succeededAt].map(([id, t]) => t - (accepted.get(id) ?? started)));
    const total = Float64Array.from([...succeededAt.values()].map((t) => t - started));
    const spread = (s: Float64Array) => ({ p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(percentile(s, 100)) });
    const cpuSeconds = (cpuAfter?.cpuSeconds ?? 0) - (cpuBefore?.cpuSeconds ?? 0);
    return {
      kind: 'fleet-ota',
      devices: options.devices,
      wallMs: round(wallMs),
      devicesPerSecond: round(perSecond(options.devices, wallMs)),
      succeeded: succeededAt.size,
      notifyToSucceededMs: spread(notify),
      startToSucceededMs: spread(total),
      connectMs,
      orchestrator: { cpuSeconds: round(cpuSeconds, 2), cpuPercentOfOneCore: round((cpuSeconds * 1000 * 100) / wallMs), peakRssBytes: cpuAfter?.peakRssBytes ?? 0 },
      broker: { cpuSeconds: round((brokerAfter?.cpuSeconds ?? 0) - (brokerBefore?.cpuSeconds ?? 0), 2), peakRssBytes: brokerAfter?.peakRssBytes ?? 0 },
      simulator: { cpuSeconds: round((simCpu.user + simCpu.system) / 1e6, 2) },
      redis: { usedBytesBefore: memoryBefore, usedBytesAfter: memoryAfter, usedBytesPerDevice: Math.round((memoryAfter - memoryBefore) / options.devices) },
    };
  } finally {
    await fleet?.stop();
    await stack.close();
  }
}
