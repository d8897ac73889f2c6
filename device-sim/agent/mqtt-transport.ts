// Transport over MQTT.js (docs/protocol.md#mqtt-topics, Device connect token). One fresh MQTT.js
// client per connection attempt, so each attempt carries a freshly signed token and no client
// state survives a broken connection; reconnects wait an exponential backoff with jitter.
// It does not queue reports: the agent's persisted outbox does, and retries after a reconnect.
// Several broker URLs (nodes of one cluster, or brokers behind no balancer) fail over: a device
// starts on one picked at random (a fleet spreads over the nodes) and moves to the next after
// any attempt that fails or connection that drops.
import { createPrivateKey } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  buildConnectToken, directiveTopic, LIMITS, PRESENCE_OFFLINE, PRESENCE_ONLINE, presenceTopic, statusTopic, toBase64url, type Ed25519,
} from '../../protocol/index.js';
import { backoffDelay, type BackoffPolicy } from './backoff.js';
import type { Clock } from './clock.js';
import { AgentError, type AgentErrorCode } from './errors.js';
import { silentAgentLogger, type AgentLogger } from './logger.js';
import type { Transport, TransportHandlers } from './transport.js';

export interface MqttTransportOptions {
  /** One broker URL, or several to fail over between (see brokerUrlList). */
  brokerUrl: string | readonly string[];
  deviceId: string;
  secretKey: Uint8Array;
  ed25519: Ed25519;
  clock: Clock;
  /** Connect token lifetime; docs/protocol.md#device-connect-token: at most the broker's maximum (default 24 h). */
  tokenLifetimeSeconds?: number;
  backoff?: BackoffPolicy;
  connectTimeoutMs?: number;
  keepaliveSeconds?: number;
  ackTimeoutMs?: number;
  /** A connection that lived this long resets the backoff to its first step. */
  stableAfterMs?: number;
  random?: () => number;
  logger?: AgentLogger;
  /** TLS for mqtts:// (CA bundle, server name check). */
  tls?: { ca?: string | Buffer; rejectUnauthorized?: boolean };
  /**
   * An X.509 client certificate (PEM) over this device's key, for a broker that authenticates
   * devices by certificate (Mosquitto, EMQX, HiveMQ, AWS IoT Core: `fleet-ota certs issue`).
   * The TLS key is the device key itself; the connect token is still sent as the password.
   */
  certificate?: string;
}

export const DEFAULT_MQTT_TRANSPORT = {
  tokenLifetimeSeconds: 3600,
  backoff: { initialMs: 500, maxMs: 30_000, factor: 2 } satisfies BackoffPolicy,
  connectTimeoutMs: 10_000,
  keepaliveSeconds: 60,
  ackTimeoutMs: 15_000,
  stableAfterMs: 10_000,
} as const;

export class MqttTransport implements Transport {
  private readonly options: MqttTransportOptions;
  private client: MqttClient | undefined;
  private handlers: TransportHandlers | undefined;
  private attempt = 0;
  private readonly brokerUrls: readonly string[];
  private readonly clientTls: { key: string; cert: string } | undefined;
  private urlIndex: number;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private suspended = false;
  private isConnected = false;
  private readonly pending = new Set<(code: AgentErrorCode) => void>();
  private readonly connectWaiters = new Set<() => void>();
  private readonly logger: AgentLogger;
  /** Counters for the simulator's figures. */
  readonly stats = { attempts: 0, connects: 0, drops: 0, failovers: 0 };

  constructor(options: MqttTransportOptions) {
    if (options.secretKey.length !== 32) throw new AgentError('invalid_provisioning', 'an Ed25519 secret key is 32 bytes');
    this.options = options;
    this.logger = options.logger ?? silentAgentLogger;
    this.brokerUrls = brokerUrlList(options.brokerUrl);
    this.clientTls = options.certificate ? { key: devicePrivateKeyPem(options.secretKey, options.ed25519), cert: options.certificate } : undefined;
    this.urlIndex = Math.floor((options.random ?? Math.random)() * this.brokerUrls.length) % this.brokerUrls.length;
  }

  /** The broker URL the next (or current) connection uses. */
  get brokerUrl(): string {
    return this.brokerUrls[this.urlIndex]!;
  }

  get connected(): boolean {
    return this.isConnected;
  }

  start(handlers: TransportHandlers): void {
    this.handlers = handlers;
    this.stopped = false;
    this.open();
  }

  private open(): void {
    if (this.stopped || this.suspended || this.client) return;
    const o = this.options;
    this.stats.attempts++;
    // A fresh token per attempt: a reconnect after hours never presents an expired one.
    const lifetime = Math.min(o.tokenLifetimeSeconds ?? DEFAULT_MQTT_TRANSPORT.tokenLifetimeSeconds, LIMITS.connectTokenMaxLifetimeSeconds);
    const password = buildConnectToken(o.deviceId, o.secretKey, o.clock.now(), lifetime, o.ed25519);
    const client = mqtt.connect(this.brokerUrl, {
      // docs/protocol.md#device-connect-token: clientId = username = deviceId.
      clientId: o.deviceId,
      username: o.deviceId,
      password,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeoutMs ?? DEFAULT_MQTT_TRANSPORT.connectTimeoutMs,
      keepalive: o.keepaliveSeconds ?? DEFAULT_MQTT_TRANSPORT.keepaliveSeconds,
      // docs/protocol.md#mqtt-topics: presence is retained; the broker publishes `offline` if we vanish.
      will: { topic: presenceTopic(o.deviceId), payload: Buffer.from(PRESENCE_OFFLINE), qos: 1, retain: true },
      log: NO_MQTT_LOG,
      ...(o.tls ?? {}),
      ...(this.clientTls ?? {}),
    });
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('message', (topic, payload) => {
      if (client !== this.client || topic !== directiveTopic(o.deviceId)) return;
      this.handlers?.onDirective(new Uint8Array(payload.buffer, payload.byteOffset, payload.byteLength));
    });
    client.on('error', (error) => {
      this.logger.debug({ deviceId: o.deviceId, code: (error as { code?: unknown }).code }, 'mqtt error');
    });
    client.on('close', () => this.onClose(client));
  }

  private onConnect(client: MqttClient): void {
    if (client !== this.client) return;
    const id = this.options.deviceId;
    client.subscribe(directiveTopic(id), { qos: 1 }, (error, granted) => {
      if (client !== this.client) return;
      // [MQTT-3.9.3] 0x80 in SUBACK: the broker refused the subscription.
      if (error || !granted || granted.some((g) => g.qos === 128)) {
        this.logger.warn({ deviceId: id }, 'directive subscription refused');
        client.end(true);
        return;
      }
      client.publish(presenceTopic(id), PRESENCE_ONLINE, { qos: 1, retain: true }, () => undefined);
      this.isConnected = true;
      this.stats.connects++;
      this.stableTimer = setTimeout(() => {
        this.attempt = 0;
      }, this.options.stableAfterMs ?? DEFAULT_MQTT_TRANSPORT.stableAfterMs);
      this.stableTimer.unref();
      for (const wake of [...this.connectWaiters]) wake();
      this.handlers?.onConnected();
    });
  }

  private onClose(client: MqttClient): void {
    if (client !== this.client) return;
    this.client = undefined;
    this.release(client);
    const wasConnected = this.isConnected;
    this.isConnected = false;
    clearTimeout(this.stableTimer);
    this.failPending('connection_lost');
    if (wasConnected) {
      this.stats.drops++;
      this.handlers?.onDisconnected();
    }
    // Fail over: whatever ended this connection (refused, unreachable, dropped), the next
    // attempt goes to the next broker. With one URL this is the same broker again.
    if (this.brokerUrls.length > 1) {
      this.urlIndex = (this.urlIndex + 1) % this.brokerUrls.length;
      this.stats.failovers++;
    }
    this.scheduleReconnect();
  }

  private release(client: MqttClient): void {
    client.removeAllListeners();
    client.on('error', () => undefined);
    client.end(true);
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.suspended || this.reconnectTimer) return;
    const delay = backoffDelay(this.options.backoff ?? DEFAULT_MQTT_TRANSPORT.backoff, this.attempt++, this.options.random ?? Math.random);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.open();
    }, delay);
  }

  private failPending(code: AgentErrorCode): void {
    for (const fail of [...this.pending]) fail(code);
  }

  publishStatus(bytes: Uint8Array): Promise<void> {
    const client = this.client;
    if (!client || !this.isConnected) return Promise.reject(new AgentError('not_connected', 'not connected'));
    const timeoutMs = this.options.ackTimeoutMs ?? DEFAULT_MQTT_TRANSPORT.ackTimeoutMs;
    return new Promise<void>((resolve, reject) => {
      const settle = (code?: AgentErrorCode): void => {
        if (!this.pending.delete(fail)) return;
        clearTimeout(timer);
        if (code) reject(new AgentError(code, `status not acknowledged (${code})`));
        else resolve();
      };
      const fail = (code: AgentErrorCode): void => settle(code);
      const timer = setTimeout(() => settle('ack_timeout'), timeoutMs);
      this.pending.add(fail);
      client.publish(statusTopic(this.options.deviceId), asBuffer(bytes), { qos: 1 }, (error) => settle(error ? 'connection_lost' : undefined));
    });
  }

  /** Resolves true once connected (now or later), false after `timeoutMs` or on stop. */
  whenConnected(timeoutMs: number): Promise<boolean> {
    if (this.isConnected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.connectWaiters.delete(wake);
        resolve(ok);
      };
      const wake = (): void => done(this.isConnected);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.connectWaiters.add(wake);
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of [...this.connectWaiters]) wake();
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearTimeout(this.stableTimer);
    const client = this.client;
    this.client = undefined;
    const wasConnected = this.isConnected;
    this.isConnected = false;
    this.failPending('connection_lost');
    if (!client) return;
    if (wasConnected) {
      // A clean DISCONNECT suppresses the last will [MQTT-3.14.4-3]: say `offline` ourselves.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        client.publish(presenceTopic(this.options.deviceId), PRESENCE_OFFLINE, { qos: 1, retain: true }, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 2_000);
        client.end(false, {}, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    this.release(client);
  }

  // Simulation hooks (profiles flaky-network and offline-then-back); a device never calls them.

  /** Breaks the connection without DISCONNECT (the broker sends the last will); reconnects by backoff. */
  drop(): void {
    this.client?.stream.destroy();
  }

  /** Goes offline (no DISCONNECT, so the last will fires) and stays off until resume(). */
  suspend(): void {
    this.suspended = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.client?.stream.destroy();
  }

  resume(): void {
    if (!this.suspended) return;
    this.suspended = false;
    this.attempt = 0;
    if (!this.client) this.open();
  }
}

/** The same bytes as a Buffer, without a copy when they are one already (MQTT.js takes Buffers). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** MQTT.js logs through `debug` by default: a call per packet even when disabled. */
const NO_MQTT_LOG = (): void => undefined;

const BROKER_URL_SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:']);

/**
 * The broker URLs of `value`: one URL, a list, or a comma-separated list (the CLI's `--broker`).
 * Refuses an empty list and anything that is not an MQTT URL, with the offending entry named.
 */
export function brokerUrlList(value: string | readonly string[]): string[] {
  const entries = (typeof value === 'string' ? value.split(',') : [...value]).map((u) => u.trim()).filter((u) => u !== '');
  if (entries.length === 0) throw new AgentError('invalid_provisioning', 'no broker URL given');
  for (const entry of entries) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new AgentError('invalid_provisioning', `not a broker URL: ${JSON.stringify(entry)}`);
    }
    if (!BROKER_URL_SCHEMES.has(url.protocol)) throw new AgentError('invalid_provisioning', `not an MQTT URL (mqtt://, mqtts://, ws://, wss://): ${JSON.stringify(entry)}`);
  }
  return entries;
}

/** The device's Ed25519 secret key as PKCS#8 PEM, the form Node's TLS takes a client key in. */
function devicePrivateKeyPem(secretKey: Uint8Array, ed25519: Ed25519): string {
  const jwk = { kty: 'OKP', crv: 'Ed25519', d: toBase64url(secretKey), x: toBase64url(ed25519.publicKeyOf(secretKey)) };
  return createPrivateKey({ key: jwk, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }).toString();
}
