// The agent over real MQTT (in-process Aedes + MQTT.js) and real HTTP: connect token, every
// state in order, a retained directive received after reconnect, a duplicated delivery
// processed once, reports not lost across a dropped connection.
import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directiveTopic, nobleEd25519, toBase64url, verifyStatusReport, type Ed25519 } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { DeviceAgent } from '../../../device-sim/agent/device-agent.js';
import { deviceKeyOf, provisionDevice } from '../../../device-sim/agent/device-state.js';
import { HttpFetcher } from '../../../device-sim/agent/http-fetcher.js';
import { MqttTransport } from '../../../device-sim/agent/mqtt-transport.js';
import { MemorySlots } from '../../../device-sim/agent/slots.js';
import { MemoryDeviceStore } from '../../../device-sim/agent/store.js';
import { ManualClock, waitFor } from '../support/fakes.js';
import { Observer, startTestBroker, type TestBroker } from '../support/broker.js';
import { startPayloadServer, type PayloadServer } from '../support/payload-server.js';
import { CLASS, directiveMessage, makeRelease, NOW, trustFixture, VENDOR } from '../support/trust.js';

const t = trustFixture();
const publicKeys = new Map<string, Uint8Array>();
let broker: TestBroker;
let observer: Observer;
let files: PayloadServer;
const tokenChecks: Array<Promise<boolean>> = [];

beforeAll(async () => {
  broker = await startTestBroker((clientId, username, password) => {
    if (clientId.startsWith('observer-')) return true;
    const key = publicKeys.get(clientId);
    // docs/protocol.md#device-connect-token: clientId = username = deviceId, password a JWT signed by the device key.
    if (!key || username !== clientId || !password) return false;
    tokenChecks.push(importJWK({ kty: 'OKP', crv: 'Ed25519', x: toBase64url(key) }, 'EdDSA')
      .then((jwk) => jwtVerify(password, jwk, { audience: 'fleet-ota', subject: clientId, algorithms: ['EdDSA'], currentDate: new Date(NOW * 1000) }))
      .then(() => true, () => false));
    return true;
  });
  observer = await Observer.connect(broker.url);
  files = await startPayloadServer();
});
afterAll(async () => {
  await observer.close();
  await broker.close();
  await files.close();
});

interface Device {
  id: string;
  agent: DeviceAgent;
  transport: MqttTransport;
  store: MemoryDeviceStore;
  clock: ManualClock;
}

async function device(id: string, ed25519: Ed25519 = nodeEd25519, fetcher = new HttpFetcher({ backoff: { initialMs: 5, maxMs: 20, factor: 2 } })): Promise<Device> {
  const store = new MemoryDeviceStore();
  const record = provisionDevice({ deviceId: id, secretKey: new Uint8Array(randomBytes(32)), vendorId: VENDOR, classId: CLASS, root: t.root }, ed25519);
  await store.save(record);
  const key = deviceKeyOf(record, ed25519);
  publicKeys.set(id, key.publicKey);
  const clock = new ManualClock(NOW);
  const transport = new MqttTransport({ brokerUrl: broker.url, deviceId: id, secretKey: key.secretKey, ed25519, clock, backoff: { initialMs: 20, maxMs: 100, factor: 2 } });
  const agent = new DeviceAgent({ store, transport, fetcher, slots: new MemorySlots(), clock, ed25519 }, { deviceId: id, config: { progressStepPercent: 25 } });
  await agent.start();
  await waitFor(() => transport.connected, 5000, `${id} connected`);
  return { id, agent, transport, store, clock };
}

function payload(path: string, size = 64 * 1024, extra: object = {}) {
  const bytes = new Uint8Array(randomBytes(size));
  files.files.set(path, { bytes, ...extra });
  return makeRelease(t, { payload: bytes, uri: files.url(path) });
}

const finished = (id: string) => () => observer.of(id).some((r) => r.state === 'succeeded' || r.state === 'failed' || r.state === 'rejected');

describe.each([nodeEd25519, nobleEd25519])('agent over MQTT ($name)', (ed25519) => {
  it('connects with its own token and reports every state in order, each signed', async () => {
    const id = `int-order-${ed25519.name}`;
    const d = await device(id, ed25519);
    await observer.publishDirective(directiveTopic(id), directiveMessage(t, { deviceId: id, counter: 1, release: payload(`/${id}.bin`) }));
    await waitFor(finished(id), 10_000, 'succeeded');
    const reports = observer.of(id);
    expect(reports.map((r) => r.state).filter((s, i, all) => s !== all[i - 1])).toEqual(['accepted', 'downloading', 'verifying', 'installing', 'rebooting', 'succeeded']);
    // Progress as the network delivered it (chunk sizes vary): starts at 0, only increases.
    const progress = reports.filter((r) => r.state === 'downloading').map((r) => r.progress!);
    expect(progress[0]).toBe(0);
    expect(progress).toEqual([...new Set(progress)].sort((a, b) => a - b));
    expect(reports.map((r) => r.seq)).toEqual(reports.map((_, i) => i + 1));
    const key = deviceKeyOf(d.store.peek(id)!, ed25519).publicKey;
    for (const r of observer.reports.filter((x) => x.deviceId === id)) expect(verifyStatusReport(r.bytes, id, key, nodeEd25519).ok).toBe(true);
    expect(await Promise.all(tokenChecks)).not.toContain(false);
    await d.agent.stop();
    expect(observer.presence.filter((p) => p.deviceId === id).map((p) => p.value)).toEqual(['online', 'offline']);
  });
});

describe('agent over MQTT: reconnects', () => {
  it('receives a retained directive after being offline, with a fresh token', async () => {
    const id = 'int-retained';
    const d = await device(id);
    d.transport.suspend();
    // The broker sends the last will: presence `offline`.
    await waitFor(() => observer.presence.some((p) => p.deviceId === id && p.value === 'offline'), 5000, 'last will');
    await observer.publishDirective(directiveTopic(id), directiveMessage(t, { deviceId: id, counter: 1, release: payload(`/${id}.bin`) }));
    d.clock.advance(120);
    d.transport.resume();
    await waitFor(finished(id), 10_000, 'succeeded after reconnect');
    expect(observer.of(id).at(-1)!.state).toBe('succeeded');
    const tokens = broker.connects.filter((c) => c.clientId === id).map((c) => decodeJwt(c.password!));
    expect(tokens).toHaveLength(2);
    expect(tokens[1]!.iat! - tokens[0]!.iat!).toBe(120);
    expect(decodeProtectedHeader(broker.connects.find((c) => c.clientId === id)!.password!)).toEqual({ alg: 'EdDSA', typ: 'JWT' });
    await d.agent.stop();
  });

  it('processes a duplicated delivery once (republished and redelivered on reconnect)', async () => {
    const id = 'int-dup';
    const d = await device(id);
    const bytes = directiveMessage(t, { deviceId: id, counter: 1, release: payload(`/${id}.bin`) });
    await observer.publishDirective(directiveTopic(id), bytes);
    await observer.publishDirective(directiveTopic(id), bytes);
    await waitFor(finished(id), 10_000, 'succeeded');
    d.transport.drop();
    await waitFor(() => d.agent.counters.duplicates >= 2, 5000, 'redelivery after reconnect');
    const states = observer.of(id).map((r) => r.state);
    expect(states.filter((s) => s === 'accepted')).toHaveLength(1);
    expect(states.filter((s) => s === 'succeeded')).toHaveLength(1);
    await d.agent.stop();
  });

  it('loses no report when the connection drops mid-install', async () => {
    const id = 'int-drop';
    const slow = new HttpFetcher({ bytesPerSecond: 200_000, backoff: { initialMs: 5, maxMs: 20, factor: 2 } });
    const d = await device(id, nodeEd25519, slow);
    await observer.publishDirective(directiveTopic(id), directiveMessage(t, { deviceId: id, counter: 1, release: payload(`/${id}.bin`, 100_000) }));
    await waitFor(() => observer.of(id).some((r) => r.state === 'downloading'), 5000, 'downloading');
    d.transport.drop();
    await waitFor(finished(id), 10_000, 'succeeded');
    await waitFor(() => d.store.peek(id)!.outbox.length === 0, 5000, 'outbox drained');
    const seqs = [...new Set(observer.of(id).map((r) => r.seq))].sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: d.store.peek(id)!.statusSeq }, (_, i) => i + 1));
    expect(d.transport.stats.drops).toBeGreaterThanOrEqual(1);
    await d.agent.stop();
  });

  it('keeps retrying with backoff while the broker refuses it', async () => {
    const id = 'int-refused';
    const store = new MemoryDeviceStore();
    const record = provisionDevice({ deviceId: id, secretKey: new Uint8Array(randomBytes(32)), vendorId: VENDOR, classId: CLASS, root: t.root }, nodeEd25519);
    await store.save(record);
    // No public key registered: the test broker refuses the CONNECT.
    const transport = new MqttTransport({ brokerUrl: broker.url, deviceId: id, secretKey: deviceKeyOf(record, nodeEd25519).secretKey, ed25519: nodeEd25519, clock: new ManualClock(NOW), backoff: { initialMs: 20, maxMs: 40, factor: 2 } });
    const agent = new DeviceAgent({ store, transport, fetcher: new HttpFetcher(), slots: new MemorySlots(), ed25519: nodeEd25519 }, { deviceId: id });
    await agent.start();
    await waitFor(() => transport.stats.attempts >= 3, 5000, 'retries');
    expect(transport.connected).toBe(false);
    expect(transport.stats.connects).toBe(0);
    await agent.stop();
    const attempts = transport.stats.attempts;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(transport.stats.attempts).toBe(attempts);
  });
});
