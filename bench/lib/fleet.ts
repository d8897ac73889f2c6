// The fleet-ota half of the benchmark: a single-wave, uncapped rollout of a 1 KiB artifact to N
// simulated devices, with the broker and the orchestrator as separate processes (as deployed)
// and the devices in this one. Measures wall time, devices/s, notify->succeeded, the CPU of
// orchestrator, broker, Redis and the simulated devices, peak RSS, and Redis memory per device.
// By default on a private redis-server it starts (so INFO CPU is the rollout's alone).
import { loadavg } from 'node:os';
import { timeLimit } from '../../runtime/time-limit.js';
import { connectFleet, provisionFleet, type FleetHandle } from '../../device-sim/sim/index.js';
import { processUsage, startProcessStack } from '../../test/support/process-stack.js';
import { startPrivateRedis, type PrivateRedis } from '../../test/support/private-redis.js';
import { redisCpuSeconds, redisUsedMemory } from './redis-cpu.js';
import { startWindowProfiler, type WindowProfiler } from './sim-profile.js';
import { percentile, perSecond, round } from './stats.js';

export interface FleetBenchmarkOptions {
  devices: number;
  /** node flags for the orchestrator process, e.g. ['--cpu-prof', '--cpu-prof-dir=bench/results']. */
  orchestratorNodeArgs?: string[];
  /** An existing Redis (shared: its CPU delta counts others' work too); default a private redis-server. */
  redisUrl?: string;
  /** Writes a CPU profile of the simulated devices (this process) over the rollout window here. */
  simProfilePath?: string;
  timeoutMs?: number;
  onProgress?: (text: string) => void;
}

export interface FleetBenchmarkResult {
  kind: 'fleet-ota';
  devices: number;
  /** Rollout created -> every device reported succeeded. */
  wallMs: number;
  /** Rollout created -> the orchestrator shows it completed (every report applied); the servers' CPU window. */
  settledMs: number;
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
  simulator: { cpuSeconds: number; cpuMsPerDevice: number };
  /** INFO CPU delta over the rollout; `private` says whether the server was the benchmark's alone. */
  redis: { private: boolean; cpuSeconds: number; usedBytesPerDevice: number; usedBytesBefore: number; usedBytesAfter: number };
  /** (orchestrator + broker + Redis CPU) / devices over the rollout window: issue 16's goal 1. */
  serverCpuMsPerDevice: number;
  /** 1-minute load average when the rollout started and when it ended (2 cores: above 2 is contention). */
  loadAverage: { start: number; end: number };
}

export async function runFleetBenchmark(options: FleetBenchmarkOptions): Promise<FleetBenchmarkResult> {
  const progress = options.onProgress ?? (() => undefined);
  const privateRedis: PrivateRedis | undefined = options.redisUrl ? undefined : await startPrivateRedis();
  const stack = await startProcessStack({
    redisUrl: options.redisUrl ?? privateRedis!.url,
    brokerEnv: { FLEET_BROKER_MAX_CONNECTIONS: String(options.devices + 100), FLEET_BROKER_PUBLISHES_PER_CLIENT_PER_SEC: '0' },
    ...(options.orchestratorNodeArgs ? { orchestratorNodeArgs: options.orchestratorNodeArgs } : {}),
  }).catch(async (error: unknown) => {
    await privateRedis?.stop();
    throw error;
  });
  let fleet: FleetHandle | undefined;
  let profiler: WindowProfiler | undefined;
  try {
    const memoryBefore = await redisUsedMemory(stack.redis);
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
    const redisBefore = await redisCpuSeconds(stack.redis);
    const loadStart = loadavg()[0]!;
    if (options.simProfilePath) profiler = await startWindowProfiler();
    const simBefore = process.cpuUsage();
    started = performance.now();
    await stack.createRollout({ id: 'bench', releaseId: release.releaseId, target: { all: true }, waves: [{ percent: 100, successThreshold: 1, failureThreshold: 0 }] });
    const ticker = setInterval(() => progress(`succeeded ${succeededAt.size}/${options.devices}`), 1_000);
    try {
      await timeLimit(allDone, options.timeoutMs ?? 300_000, () => {
        throw new Error(`rollout not finished in ${options.timeoutMs ?? 300_000} ms: ${succeededAt.size} succeeded`);
      });
    } finally {
      clearInterval(ticker);
    }
    const wallMs = performance.now() - started;
    const simCpu = process.cpuUsage(simBefore);
    if (profiler) {
      await profiler.stop(options.simProfilePath!);
      profiler = undefined;
    }
    // The servers' share ends when the orchestrator has applied every report, which on a loaded
    // machine can trail the devices' last PUBACK by minutes: their CPU is read only then.
    await stack.waitForRollout('bench', (v) => v.status === 'completed', options.timeoutMs ?? 600_000);
    const settledMs = performance.now() - started;
    const cpuAfter = await processUsage(orchestratorPid);
    const brokerAfter = await processUsage(brokerPid);
    const redisAfter = await redisCpuSeconds(stack.redis);
    const loadEnd = loadavg()[0]!;
    const memoryAfter = await redisUsedMemory(stack.redis);

    const notify = Float64Array.from([...succeededAt].map(([id, t]) => t - (accepted.get(id) ?? started)));
    const total = Float64Array.from([...succeededAt.values()].map((t) => t - started));
    const spread = (s: Float64Array) => ({ p50: round(percentile(s, 50)), p99: round(percentile(s, 99)), max: round(percentile(s, 100)) });
    const cpuSeconds = (cpuAfter?.cpuSeconds ?? 0) - (cpuBefore?.cpuSeconds ?? 0);
    const brokerCpuSeconds = (brokerAfter?.cpuSeconds ?? 0) - (brokerBefore?.cpuSeconds ?? 0);
    const redisCpu = redisAfter - redisBefore;
    const simSeconds = (simCpu.user + simCpu.system) / 1e6;
    return {
      kind: 'fleet-ota',
      devices: options.devices,
      wallMs: round(wallMs),
      settledMs: round(settledMs),
      devicesPerSecond: round(perSecond(options.devices, wallMs)),
      succeeded: succeededAt.size,
      notifyToSucceededMs: spread(notify),
      startToSucceededMs: spread(total),
      connectMs,
      orchestrator: { cpuSeconds: round(cpuSeconds, 2), cpuPercentOfOneCore: round((cpuSeconds * 1000 * 100) / wallMs), peakRssBytes: cpuAfter?.peakRssBytes ?? 0 },
      broker: { cpuSeconds: round(brokerCpuSeconds, 2), peakRssBytes: brokerAfter?.peakRssBytes ?? 0 },
      simulator: { cpuSeconds: round(simSeconds, 2), cpuMsPerDevice: round((simSeconds * 1000) / options.devices, 3) },
      redis: {
        private: privateRedis !== undefined,
        cpuSeconds: round(redisCpu, 2),
        usedBytesBefore: memoryBefore,
        usedBytesAfter: memoryAfter,
        usedBytesPerDevice: Math.round((memoryAfter - memoryBefore) / options.devices),
      },
      serverCpuMsPerDevice: round(((cpuSeconds + brokerCpuSeconds + redisCpu) * 1000) / options.devices, 3),
      loadAverage: { start: round(loadStart, 2), end: round(loadEnd, 2) },
    };
  } finally {
    await profiler?.stop(options.simProfilePath!).catch(() => undefined);
    await fleet?.stop();
    await stack.close();
    await privateRedis?.stop();
  }
}
