// fleet-ota on a real Mosquitto 2.x with device certificates (issue 15 parts 1, 2): the device
// CA issues each device a certificate over its own Ed25519 key, the written deployment makes
// the CN the username and gives each device only its own topics, a certificate from another CA
// or none at all is refused, and a revoked device is refused once the CRL is reloaded.
import { createPrivateKey } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directiveTopic, statusTopic } from '../../../protocol/index.js';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { MqttTransport } from '../../../device-sim/agent/index.js';
import { systemClock } from '../../../device-sim/agent/clock.js';
import { buildCrl, createDeviceCa, issueDeviceCertificate, issueServerCertificate, loadDeviceCa, parseCertificate, type DeviceCa } from '../../../orchestrator/keys/device-ca.js';
import { writeMosquittoDeployment } from '../../../launcher/mosquitto/mosquitto-config.js';
import { freePort } from '../../support/free-port.js';
import { startMosquitto, type RunningMosquitto } from '../../support/mosquitto.js';

const now = () => Math.floor(Date.now() / 1000);
let dir: string;
let ca: DeviceCa;
let mosquitto: RunningMosquitto;
let devicePort: number;
let servicePort: number;
const service = { username: 'fleet-orchestrator', secret: 'svc-secret-for-test-only-0123456789' };
const clients: MqttClient[] = [];
const transports: MqttTransport[] = [];

function device(id: string) {
  const secretKey = new Uint8Array(32).map((_, i) => (i * 7 + id.length * 13 + id.charCodeAt(id.length - 1)) & 0xff);
  return { id, secretKey, publicKey: nodeEd25519.publicKeyOf(secretKey) };
}

async function connectDevice(d: ReturnType<typeof device>, certificate: string | undefined): Promise<MqttTransport> {
  const transport = new MqttTransport({
    brokerUrl: `mqtts://127.0.0.1:${devicePort}`, deviceId: d.id, secretKey: d.secretKey, ed25519: nodeEd25519, clock: systemClock,
    tls: { ca: ca.certificatePem }, ...(certificate ? { certificate } : {}), backoff: { initialMs: 100, maxMs: 200, factor: 2 }, connectTimeoutMs: 3_000,
  });
  transports.push(transport);
  transport.start({ onConnected: () => undefined, onDisconnected: () => undefined, onDirective: () => undefined });
  return transport;
}

async function serviceClient(): Promise<MqttClient> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${servicePort}`, { username: service.username, password: service.secret, reconnectPeriod: 0 });
  clients.push(client);
  return client;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-mosquitto-'));
  ca = await createDeviceCa(join(dir, 'ca'), { nowSeconds: now() });
  const server = await issueServerCertificate(ca, { hostnames: ['127.0.0.1', 'localhost'], nowSeconds: now() });
  await writeFile(join(dir, 'server.crt'), server.certificatePem);
  await writeFile(join(dir, 'server.key'), server.keyPem, { mode: 0o600 });
  const crl = await buildCrl(ca, [], { nowSeconds: now() });
  await writeFile(join(dir, 'crl.pem'), crl.pem);
  devicePort = await freePort();
  servicePort = await freePort();
  const conf = await writeMosquittoDeployment({
    dir, devicePort, deviceBind: '127.0.0.1', servicePort, caFile: join(dir, 'ca', 'device-ca.crt'), certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'),
    crlFile: join(dir, 'crl.pem'), services: [service], runAsUser: userInfo().username,
  });
  mosquitto = await startMosquitto(conf, [devicePort, servicePort]);
}, 60_000);

afterAll(async () => {
  for (const t of transports) await t.stop().catch(() => undefined);
  for (const c of clients) await c.endAsync(true).catch(() => undefined);
  await mosquitto?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}\n${mosquitto.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('device CA', () => {
  it('binds CN = device id to the device key, for client authentication only, and keeps its key 0600', async () => {
    const a = device('cert-a');
    const issued = await issueDeviceCertificate(ca, { deviceId: a.id, publicKey: a.publicKey, nowSeconds: now(), days: 1 });
    const parsed = parseCertificate(issued.pem);
    expect(parsed.subject).toBe('CN=cert-a');
    expect(parsed.verify(parseCertificate(ca.certificatePem).publicKey)).toBe(true);
    expect(Buffer.from(parsed.publicKey.export({ format: 'jwk' }).x!, 'base64url')).toEqual(Buffer.from(a.publicKey));
    expect(parsed.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect((await loadDeviceCa(join(dir, 'ca'))).certificatePem).toBe(ca.certificatePem);
    await expect(createDeviceCa(join(dir, 'ca'), { nowSeconds: now() })).rejects.toMatchObject({ code: 'device_ca' });
    await expect(issueDeviceCertificate(ca, { deviceId: 'a/b', publicKey: a.publicKey, nowSeconds: now() })).rejects.toMatchObject({ code: 'bad_input' });
  });
});

describe('Mosquitto with device certificates', () => {
  it('accepts a device with its certificate and gives it exactly its own topics', async () => {
    const a = device('mq-a');
    const b = device('mq-b');
    const certA = (await issueDeviceCertificate(ca, { deviceId: a.id, publicKey: a.publicKey, nowSeconds: now() })).pem;
    const certB = (await issueDeviceCertificate(ca, { deviceId: b.id, publicKey: b.publicKey, nowSeconds: now() })).pem;
    const svc = await serviceClient();
    const seen: string[] = [];
    svc.on('message', (topic) => seen.push(topic));
    await svc.subscribeAsync(['fleet/v1/+/status', 'fleet/v1/+/presence'], { qos: 1 });

    const ta = await connectDevice(a, certA);
    const tb = await connectDevice(b, certB);
    expect(await ta.whenConnected(10_000)).toBe(true);
    expect(await tb.whenConnected(10_000)).toBe(true);
    await until(() => seen.includes('fleet/v1/mq-a/presence') && seen.includes('fleet/v1/mq-b/presence'), 10_000, 'presence of both devices');

    await ta.publishStatus(new TextEncoder().encode('{"own":true}'));
    await until(() => seen.includes(statusTopic(a.id)), 10_000, 'a device\'s own status reaches the service');

    // mq-a speaking as mq-b: denied. (Mosquitto 2.0.11 answers a 3.1.1 client with a PUBACK
    // carrying reason 135, which MQTT.js takes as a broken connection: either way it is dropped.)
    const keyA = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(a.secretKey).toString('base64url'), x: Buffer.from(a.publicKey).toString('base64url') }, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }).toString();
    const rawClient = async (clientId: string) => {
      const client = await mqtt.connectAsync(`mqtts://127.0.0.1:${devicePort}`, { clientId, ca: ca.certificatePem, cert: certA, key: keyA, reconnectPeriod: 0 });
      clients.push(client);
      return client;
    };
    const forger = await rawClient('mq-a-forger');
    await forger.publishAsync(statusTopic(b.id), 'forged', { qos: 1 }).catch(() => undefined);
    const raw = await rawClient('mq-a-reader');
    const received: string[] = [];
    raw.on('message', (topic) => received.push(topic));
    await raw.subscribeAsync([directiveTopic(b.id), directiveTopic(a.id)], { qos: 1 });
    await svc.publishAsync(directiveTopic(b.id), 'for-b', { qos: 1 });
    await svc.publishAsync(directiveTopic(a.id), 'for-a', { qos: 1 });
    await until(() => received.includes(directiveTopic(a.id)), 10_000, 'own directive delivered');
    expect(received).not.toContain(directiveTopic(b.id));
    expect(seen.filter((t) => t === statusTopic(b.id))).toEqual([]);
  }, 60_000);

  it('refuses a device without a certificate and one with a certificate from another CA', async () => {
    const stranger = device('mq-stranger');
    const none = await connectDevice(stranger, undefined);
    const otherCa = await createDeviceCa(join(dir, 'other-ca'), { nowSeconds: now() });
    const forged = (await issueDeviceCertificate(otherCa, { deviceId: 'mq-c', publicKey: device('mq-c').publicKey, nowSeconds: now() })).pem;
    const other = await connectDevice(device('mq-c'), forged);
    expect(await none.whenConnected(3_000)).toBe(false);
    expect(await other.whenConnected(1_000)).toBe(false);
    expect(none.stats.attempts + other.stats.attempts).toBeGreaterThan(2);
  }, 30_000);

  it('refuses a revoked device once the CRL names its certificates and Mosquitto reloads it', async () => {
    const r = device('mq-revoked');
    const kept = device('mq-kept');
    const certR = (await issueDeviceCertificate(ca, { deviceId: r.id, publicKey: r.publicKey, nowSeconds: now() })).pem;
    const certK = (await issueDeviceCertificate(ca, { deviceId: kept.id, publicKey: kept.publicKey, nowSeconds: now() })).pem;
    const crl = await buildCrl(ca, [r.id], { nowSeconds: now() });
    expect(crl.revokedSerials).toBe(1);
    await writeFile(join(dir, 'crl.pem'), crl.pem);
    // SIGHUP: Mosquitto 2.0 re-reads the CRL (with ACLs and passwords) without dropping anyone.
    mosquitto.reload();
    const keyR = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(r.secretKey).toString('base64url'), x: Buffer.from(r.publicKey).toString('base64url') }, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }).toString();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = await mqtt.connectAsync(`mqtts://127.0.0.1:${devicePort}`, { clientId: 'mq-revoked-probe', ca: ca.certificatePem, cert: certR, key: keyR, reconnectPeriod: 0, connectTimeout: 2_000 }).catch(() => undefined);
      if (!probe) break;
      await probe.endAsync(true);
      if (Date.now() > deadline) throw new Error(`the revoked certificate still connects 10 s after the reload\n${mosquitto.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const tr = await connectDevice(r, certR);
    const tk = await connectDevice(kept, certK);
    expect(await tk.whenConnected(10_000)).toBe(true);
    expect(await tr.whenConnected(2_000)).toBe(false);
  }, 60_000);

  it('refuses a service account with a wrong password', async () => {
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${servicePort}`, { username: service.username, password: 'wrong', reconnectPeriod: 0, connectTimeout: 3_000 })).rejects.toThrow();
  });
});
