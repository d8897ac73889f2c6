// The raw limit of the benchmark (issue 9): N plain MQTT.js clients through a plain Aedes broker
// in a child process, one directive-sized QoS 1 message to each and the six status-sized QoS 1
// replies a device sends in a rollout, counted by one collector. No auth, crypto, Redis or HTTP.
import { performance } from 'node:perf_hooks';
import type { MqttClient } from 'mqtt';
import { ALL_STATUS_TOPICS, directiveTopic, parseDeviceTopic, statusTopic } from '../../protocol/index.js';
import { startBrokerChild, type BrokerChild } from './broker-child.js';
import { benchEnvironment, type BenchEnvironment } from './environment.js';
import { RawBenchmarkError, within } from './errors.js';
import { connectClient } from './mqtt-client.js';
import { paddedJson, RAW_PAYLOAD_SIZES, ROLLOUT_STATUS_SEQUENCE } from './payloads.js';
import { forEachBounded } from './pool.js';
import { percentile, perSecond, round } from './stats.js';

/** Named knobs with the defaults that connect 10,000 clients on a 2-core machine without storms. */
export const RAW_DEFAULTS = {
  devices: 10_000,
  /** CONNECT+SUBSCRIBE handshakes in flight at once. */
  connectConcurrency: 100,
  /**
   * Directives published but not yet PUBACKed at once. Throughput was the same from 50 to 1,000
   * here; a larger window only queues more, inflating every device's notify->done latency.
   */
  publishWindow: 100,
  /** docs/protocol.md#mqtt-topics: directives are retained, so the broker stores each one as fleet-ota's does. */
  retainDirectives: true,
  /** Per phase (connecting, then the measured run): at least this, or timeoutMsPerDevice x N. */
  minTimeoutMs: 60_000,
  timeoutMsPerDevice: 10,
} as const;

export { RawBenchmarkError } from './errors.js';

export interface RawBenchmarkOptions {
  devices: number;
  connectConcurrency?: number;
  publishWindow?: number;
  retainDirectives?: boolean;
  directiveBytes?: number;
  statusBytes?: number;
  timeoutMs?: number;
  onProgress?: (progress: RawProgress) => void;
}

export type RawProgress = { phase: 'connecting'; connected: number; total: number } | { phase: 'running'; devicesDone: number; total: number };

export interface ProcessFigures {
  cpuMs: number;
  cpuPercentOfOneCore: number;
  messagesPerCpuSecond: number;
  peakRssBytes: number;
}

export interface RawBenchmarkResult {
  kind: 'raw-mqtt';
  devices: number;
  /** Status messages per device (one per reported state of a successful install). */
  statusesPerDevice: number;
  directiveBytes: number;
  statusBytes: number;
  retainDirectives: boolean;
  /** Time to connect and subscribe all devices (not part of wallMs). */
  connectMs: number;
  connectRetries: number;
  /** Client 'error' events after connecting (a lost connection); 0 in a clean run. */
  clientErrors: number;
  /** First directive published to the last device's last status received by the collector. */
  wallMs: number;
  devicesPerSecond: number;
  /** QoS 1 PUBLISH messages through the broker (directives + statuses), each in once and out once, per second of wallMs. */
  messagesPerSecond: number;
  messages: number;
  /** Per device: directive published -> its last status received by the collector. */
  latencyMs: { p50: number; p99: number; max: number };
  /** Per device: directive published -> delivered to the device. */
  directiveDeliveryMs: { p50: number; p99: number; max: number };
  /**
   * CPU during wallMs. messagesPerCpuSecond = messages / CPU seconds: what one core would move if
   * the process had it to itself, steady across runs on a busy machine where wallMs is not.
   */
  broker: ProcessFigures;
  clients: ProcessFigures;
  environment: BenchEnvironment;
  startedAt: string;
}

function deviceIds(count: number): string[] {
  const width = String(count - 1).length;
  return Array.from({ length: count }, (_, i) => `raw-${String(i).padStart(width, '0')}`);
}

function spread(samples: Float64Array): { p50: number; p99: number; max: number } {
  return { p50: round(percentile(samples, 50)), p99: round(percentile(samples, 99)), max: round(percentile(samples, 100)) };
}

function cpuPercent(cpuMs: number, wallMs: number): number {
  return wallMs > 0 ? round((cpuMs / wallMs) * 100) : Number.NaN;
}

/** Runs the raw benchmark once and returns its figures; every client and the broker are gone when it settles. */
export async function runRawBenchmark(options: RawBenchmarkOptions): Promise<RawBenchmarkResult> {
  const devices = options.devices;
  if (!Number.isInteger(devices) || devices < 1 || devices > 15_000) {
    // ulimit -n is ~20,000 here and every client costs one descriptor on each side.
    throw new RawBenchmarkError('ERR_BENCH_ARGUMENT', 'devices must be an integer from 1 to 15000');
  }
  const connectConcurrency = options.connectConcurrency ?? RAW_DEFAULTS.connectConcurrency;
  const publishWindow = options.publishWindow ?? RAW_DEFAULTS.publishWindow;
  const retainDirectives = options.retainDirectives ?? RAW_DEFAULTS.retainDirectives;
  const directiveBytes = options.directiveBytes ?? RAW_PAYLOAD_SIZES.directiveBytes;
  const statusBytes = options.statusBytes ?? RAW_PAYLOAD_SIZES.statusBytes;
  const timeoutMs = options.timeoutMs ?? Math.max(RAW_DEFAULTS.minTimeoutMs, devices * RAW_DEFAULTS.timeoutMsPerDevice);
  const progress = options.onProgress ?? (() => undefined);
  const perDevice = ROLLOUT_STATUS_SEQUENCE.length;
  const startedAt = new Date().toISOString();

  const ids = deviceIds(devices);
  const indexOf = new Map(ids.map((id, i) => [id, i]));
  // Payloads are built before the clock starts: the raw limit measures transport only.
  const directives = ids.map((deviceId, i) => paddedJson({ deviceId, rolloutId: 'raw', counter: i + 1 }, directiveBytes));
  const statuses = ROLLOUT_STATUS_SEQUENCE.map((state) => paddedJson({ state, rolloutId: 'raw' }, statusBytes));

  const notifiedAt = new Float64Array(devices);
  const deliveredAt = new Float64Array(devices);
  const doneAt = new Float64Array(devices);
  const received = new Uint8Array(devices);
  let devicesDone = 0;
  let connectRetries = 0;
  let clientErrors = 0;

  let broker: BrokerChild | undefined;
  const clients: MqttClient[] = [];
  let closing = false;
  try {
    broker = await startBrokerChild();
    const url = `mqtt://127.0.0.1:${broker.port}`;

    const collector = await connectClient(url, 'raw-collector', () => connectRetries++);
    clients.push(collector);
    await collector.subscribeAsync(ALL_STATUS_TOPICS, { qos: 1 });
    const publisher = await connectClient(url, 'raw-director', () => connectRetries++);
    clients.push(publisher);

    const connectStart = performance.now();
    let connected = 0;
    const connecting = forEachBounded(ids, connectConcurrency, async (deviceId, index) => {
      const client = await connectClient(url, deviceId, () => connectRetries++);
      if (closing) return void client.end(true); // the phase timed out while this one connected
      clients.push(client);
      // An unhandled 'error' event would kill the process; a lost device shows up as a timeout.
      client.on('error', () => clientErrors++);
      const topic = statusTopic(deviceId);
      client.on('message', () => {
        if (deliveredAt[index] !== 0) return; // a QoS 1 duplicate: answer once, as a device would
        deliveredAt[index] = performance.now();
        for (const payload of statuses) client.publish(topic, payload, { qos: 1 });
      });
      const granted = await client.subscribeAsync(directiveTopic(deviceId), { qos: 1 });
      if (granted.some((g) => g.qos === 128)) throw new RawBenchmarkError('ERR_BENCH_CONNECT', `${deviceId}: subscription refused`);
      if (++connected % 1_000 === 0 || connected === devices) progress({ phase: 'connecting', connected, total: devices });
    });
    await within(connecting, timeoutMs, () => `${connected}/${devices} devices connected`);
    const connectMs = performance.now() - connectStart;

    const allDone = new Promise<void>((resolve) => {
      collector.on('message', (topic) => {
        const parsed = parseDeviceTopic(topic);
        const index = parsed === undefined ? undefined : indexOf.get(parsed.deviceId);
        if (index === undefined || received[index]! >= perDevice) return;
        received[index]! += 1;
        if (received[index] === perDevice) {
          doneAt[index] = performance.now();
          devicesDone++;
          if (devicesDone % 1_000 === 0) progress({ phase: 'running', devicesDone, total: devices });
          if (devicesDone === devices) resolve();
        }
      });
    });

    const brokerBefore = await broker.stats();
    const clientsCpuBefore = process.cpuUsage();
    const start = performance.now();
    const published = new Promise<void>((resolve, reject) => {
      let sent = 0;
      let acked = 0;
      let inflight = 0;
      const pump = () => {
        while (inflight < publishWindow && sent < devices) {
          const index = sent++;
          inflight++;
          notifiedAt[index] = performance.now();
          publisher.publish(directiveTopic(ids[index]!), directives[index]!, { qos: 1, retain: retainDirectives }, (error) => {
            inflight--;
            if (error) return reject(new RawBenchmarkError('ERR_BENCH_PUBLISH', error.message));
            if (++acked === devices) resolve();
            else pump();
          });
        }
      };
      pump();
    });
    await within(Promise.all([published, allDone]), timeoutMs, () => `${devicesDone}/${devices} devices done, ${received.reduce((sum, n) => sum + n, 0)}/${devices * perDevice} statuses`);
    const end = performance.now();
    const clientsCpu = process.cpuUsage(clientsCpuBefore);
    const brokerAfter = await broker.stats();

    const wallMs = end - start;
    const latency = doneAt.map((t, i) => t - notifiedAt[i]!);
    const delivery = deliveredAt.map((t, i) => t - notifiedAt[i]!);
    const brokerCpuMs = (brokerAfter.cpuUserUs + brokerAfter.cpuSystemUs - brokerBefore.cpuUserUs - brokerBefore.cpuSystemUs) / 1000;
    const clientsCpuMs = (clientsCpu.user + clientsCpu.system) / 1000;
    const messages = devices * (1 + perDevice);
    return {
      kind: 'raw-mqtt',
      devices,
      statusesPerDevice: perDevice,
      directiveBytes,
      statusBytes,
      retainDirectives,
      connectMs: Math.round(connectMs),
      connectRetries,
      clientErrors,
      wallMs: Math.round(wallMs),
      devicesPerSecond: perSecond(devices, wallMs),
      messagesPerSecond: perSecond(messages, wallMs),
      messages,
      latencyMs: spread(latency),
      directiveDeliveryMs: spread(delivery),
      broker: { cpuMs: Math.round(brokerCpuMs), cpuPercentOfOneCore: cpuPercent(brokerCpuMs, wallMs), messagesPerCpuSecond: Math.round(perSecond(messages, brokerCpuMs)), peakRssBytes: brokerAfter.maxRssBytes },
      clients: { cpuMs: Math.round(clientsCpuMs), cpuPercentOfOneCore: cpuPercent(clientsCpuMs, wallMs), messagesPerCpuSecond: Math.round(perSecond(messages, clientsCpuMs)), peakRssBytes: process.resourceUsage().maxRSS * 1024 },
      environment: benchEnvironment(),
      startedAt,
    };
  } finally {
    closing = true;
    for (const client of clients) client.end(true);
    await broker?.stop();
  }
}

/** One line a person reads. */
export function describeRawResult(r: RawBenchmarkResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  return (
    `raw MQTT limit (Aedes ${r.environment.aedes}, no auth/crypto/Redis): ${r.devices} devices, ${r.messages} QoS 1 messages ` +
    `(1 x ${r.directiveBytes} B + ${r.statusesPerDevice} x ${r.statusBytes} B each) in ${s(r.wallMs)}: ` +
    `${Math.round(r.messagesPerSecond)} msg/s, ${Math.round(r.devicesPerSecond)} devices/s; ` +
    `directive->last status p50 ${s(r.latencyMs.p50)}, p99 ${s(r.latencyMs.p99)}; ` +
    `broker CPU ${Math.round(r.broker.cpuPercentOfOneCore)}% of a core (${r.broker.messagesPerCpuSecond} msg per CPU-second), ` +
    `clients ${Math.round(r.clients.cpuPercentOfOneCore)}%; connect ${s(r.connectMs)}; load average ${r.environment.loadAverage1m} on ${r.environment.cpus} cores`
  );
}
