// Limits over real sockets: packet size per identity (aedes #831), huge or malformed Remaining
// Length (aedes #324, #612, #1086), publish throttling and floods, connection caps.
import { connect as connectTcp, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_STATUS_TOPICS, directiveTopic, statusTopic } from '../../protocol/index.js';
import type { RunningBroker } from '../../broker/index.js';
import {
  REDIS_URL, closedPromise, collect, connectDevice, connectService, deleteByPrefix, endAll, provisionDevice, sleep,
  startTestBroker, testPrefix, uniqueId, waitFor, type TestDevice,
} from './helpers.js';

let redis: Redis;
let prefix: string;
let broker: RunningBroker;
let alice: TestDevice;
let bob: TestDevice;

const RATE = 20;

beforeAll(async () => {
  redis = new Redis(REDIS_URL);
  prefix = testPrefix('limits');
  broker = await startTestBroker(prefix, { limits: { publishesPerClientPerSec: RATE, publishThrottleMaxDelayMs: 2_000 } });
  alice = await provisionDevice(redis, prefix, uniqueId('alice'));
  bob = await provisionDevice(redis, prefix, uniqueId('bob'));
});

afterAll(async () => {
  await broker?.close();
  await deleteByPrefix(redis, prefix);
  await redis.quit();
});

/** Opens a raw TCP connection, writes `bytes`, resolves when the broker closes it (or after timeoutMs). */
function rawExchange(port: number, bytes: Buffer, timeoutMs = 3_000): Promise<{ closed: boolean; ms: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connectTcp(port, '127.0.0.1', () => socket.write(bytes));
    socket.on('error', () => undefined);
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, ms: Date.now() - started });
    }, timeoutMs);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true, ms: Date.now() - started });
    });
  });
}

function delta(before: Record<string, number>, reason: string): number {
  return (broker.refusals()[reason] ?? 0) - (before[reason] ?? 0);
}

describe('packet size and malformed packets', () => {
  it('closes a socket announcing a 256 MB CONNECT as soon as the length is read, without waiting for the body', async () => {
    const before = broker.refusals();
    const result = await rawExchange(broker.port, Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x04]));
    expect(result.closed).toBe(true);
    expect(result.ms).toBeLessThan(1_000);
    expect(delta(before, 'packet_too_large')).toBe(1);
  });

  it('closes a socket sending a five-byte Remaining Length, or a first packet that is not CONNECT', async () => {
    const before = broker.refusals();
    expect((await rawExchange(broker.port, Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff, 0x01]))).closed).toBe(true);
    expect((await rawExchange(broker.port, Buffer.from([0x30, 0x02, 0x00, 0x00]))).closed).toBe(true);
    expect((await rawExchange(broker.port, Buffer.from([0xf0, 0x00]))).closed).toBe(true);
    expect(delta(before, 'malformed_packet')).toBe(3);
  });

  it('survives garbage and a CONNECT with a bad protocol name; other clients are unaffected', async () => {
    const device = await connectDevice(broker.url, alice);
    const garbage = Buffer.from([0x10, 0x10, ...Buffer.from('XXXX not mqtt at all')]);
    expect((await rawExchange(broker.port, garbage)).closed).toBe(true);
    expect(device.connected).toBe(true);
    await device.publishAsync(statusTopic(alice.id), 'still fine', { qos: 1 });
    await endAll(device);
  });

  it('disconnects a device publishing more than 4 KiB of status (docs/protocol.md), at the socket or in the ACL', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const seen = collect(orchestrator);
    await orchestrator.subscribeAsync(ALL_STATUS_TOPICS, { qos: 1 });
    const before = broker.refusals();
    for (const size of [4097, 5 * 1024, 1024 * 1024]) {
      const device = await connectDevice(broker.url, alice);
      const closed = closedPromise(device);
      device.publish(statusTopic(alice.id), Buffer.alloc(size, 0x61), { qos: 0 });
      await closed;
      device.end(true);
    }
    expect(delta(before, 'status_too_large') + delta(before, 'packet_too_large')).toBe(3);
    expect(delta(before, 'status_too_large')).toBeGreaterThanOrEqual(1);
    // Exactly 4 KiB is fine.
    const device = await connectDevice(broker.url, alice);
    await device.publishAsync(statusTopic(alice.id), Buffer.alloc(4096, 0x62), { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload.length === 4096), 5000, '4 KiB status');
    expect(seen.filter((m) => m.payload.length > 4096)).toEqual([]);
    await endAll(device, orchestrator);
  });

  it('lets the orchestrator publish a 64 KiB directive and disconnects it above', async () => {
    const device = await connectDevice(broker.url, bob);
    const inbox = collect(device);
    await device.subscribeAsync(directiveTopic(bob.id), { qos: 1 });
    const orchestrator = await connectService(broker.url, 'orchestrator');
    await orchestrator.publishAsync(directiveTopic(bob.id), Buffer.alloc(64 * 1024, 0x63), { qos: 1 });
    await waitFor(() => inbox.some((m) => m.payload.length === 64 * 1024), 5000, '64 KiB directive');
    const closed = closedPromise(orchestrator);
    orchestrator.publish(directiveTopic(bob.id), Buffer.alloc(64 * 1024 + 1, 0x64), { qos: 0 });
    await closed;
    orchestrator.end(true);
    const big = await connectService(broker.url, 'orchestrator');
    const bigClosed = closedPromise(big);
    big.publish(directiveTopic(bob.id), Buffer.alloc(200 * 1024, 0x65), { qos: 0 });
    await bigClosed;
    big.end(true);
    await sleep(100);
    expect(inbox.filter((m) => m.payload.length > 64 * 1024)).toEqual([]);
    expect(broker.refusals().directive_too_large).toBeGreaterThanOrEqual(1);
    await endAll(device);
  });
});

describe('publish throttling', () => {
  it('throttles a flooding device to its rate while another device is served at once', async () => {
    const orchestrator = await connectService(broker.url, 'orchestrator');
    const arrivals: { payload: string; at: number }[] = [];
    orchestrator.on('message', (_topic, payload) => arrivals.push({ payload: payload.toString(), at: Date.now() }));
    await orchestrator.subscribeAsync(ALL_STATUS_TOPICS, { qos: 1 });
    const flooder = await connectDevice(broker.url, alice);
    const other = await connectDevice(broker.url, bob);
    const burst = RATE + 20; // the bucket holds RATE; 20 more at RATE/s take about a second
    const started = Date.now();
    for (let i = 0; i < burst; i++) flooder.publish(statusTopic(alice.id), `flood-${i}`, { qos: 0 });
    await sleep(50);
    const otherSent = Date.now();
    await other.publishAsync(statusTopic(bob.id), 'other', { qos: 1 });
    await waitFor(() => arrivals.some((m) => m.payload === 'other'), 2000, 'other device');
    expect(arrivals.find((m) => m.payload === 'other')!.at - otherSent).toBeLessThan(300);
    await waitFor(() => arrivals.filter((m) => m.payload.startsWith('flood-')).length === burst, 5000, 'all flood messages');
    const floodTimes = arrivals.filter((m) => m.payload.startsWith('flood-')).map((m) => m.at - started);
    // The last 20 wait for tokens: about 20 / RATE = 1 s, not all at once.
    expect(Math.max(...floodTimes)).toBeGreaterThan(800);
    expect(flooder.connected).toBe(true);
    expect(broker.refusals().publish_rate).toBeGreaterThanOrEqual(20);
    await endAll(flooder, other, orchestrator);
  });

  it('disconnects a device whose backlog would wait longer than the maximum delay', async () => {
    const flooder = await connectDevice(broker.url, alice);
    const closed = closedPromise(flooder);
    const before = broker.refusals();
    for (let i = 0; i < 500; i++) flooder.publish(statusTopic(alice.id), `x-${i}`, { qos: 0 });
    await closed;
    flooder.end(true);
    expect(delta(before, 'publish_flood')).toBe(1);
  });
});

describe('connection caps', () => {
  it('refuses sockets beyond maxConnections and new connections beyond the per-address rate', async () => {
    const capPrefix = testPrefix('caps');
    const capped = await startTestBroker(capPrefix, { limits: { maxConnections: 3, connectsPerIpPerSec: 5 } });
    try {
      const sockets: Socket[] = [];
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          new Promise<boolean>((resolve) => {
            const socket = connectTcp(capped.port, '127.0.0.1');
            sockets.push(socket);
            socket.on('error', () => undefined);
            const timer = setTimeout(() => resolve(true), 300);
            socket.on('close', () => {
              clearTimeout(timer);
              resolve(false);
            });
          }),
        ),
      );
      expect(results.filter(Boolean).length).toBe(3);
      expect(capped.refusals().max_connections).toBe(2);
      for (const socket of sockets) socket.destroy();
      await sleep(100);
      // Five connects this second already: the next one is over the per-address rate.
      const sixth = await rawExchange(capped.port, Buffer.alloc(0), 500);
      expect(sixth.closed).toBe(true);
      expect(capped.refusals().connect_rate).toBeGreaterThanOrEqual(1);
    } finally {
      await capped.close();
      await deleteByPrefix(redis, capPrefix);
    }
  });
});
