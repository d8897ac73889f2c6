// A plain in-process Aedes on port 0 for device-sim integration tests, with a hook to check
// connect credentials, and a service-side observer client. The real broker (broker/) is used
// by integration/real-broker.test.ts; these tests keep plain Aedes to test the agent alone.
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { parseDeviceTopic, parseStatusReport, type StatusSigned } from '../../../protocol/index.js';

export interface TestBroker {
  url: string;
  aedes: Aedes;
  /** Every CONNECT seen: client id, username, password text. */
  connects: Array<{ clientId: string; username: string | undefined; password: string | undefined }>;
  close(): Promise<void>;
}

export async function startTestBroker(check?: (clientId: string, username: string | undefined, password: string | undefined) => boolean): Promise<TestBroker> {
  const aedes = await Aedes.createBroker();
  const connects: TestBroker['connects'] = [];
  aedes.authenticate = (client: Client, username: string | undefined, password: Buffer | undefined, done: (error: (Error & { returnCode: number }) | null, ok: boolean) => void) => {
    const entry = { clientId: client.id, username, password: password?.toString() };
    connects.push(entry);
    if (check && !check(entry.clientId, entry.username, entry.password)) {
      const error = Object.assign(new Error('bad credentials'), { returnCode: 4 });
      return done(error, false);
    }
    done(null, true);
  };
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    aedes,
    connects,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}

/** A service-side client: publishes directives (retained), collects status and presence. */
export class Observer {
  readonly reports: Array<{ deviceId: string; bytes: Buffer; report: StatusSigned }> = [];
  readonly presence: Array<{ deviceId: string; value: string }> = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(url: string, credentials?: { username: string; password: string }): Promise<Observer> {
    const client = await mqtt.connectAsync(url, { clientId: `observer-${Math.random().toString(16).slice(2)}`, reconnectPeriod: 0, ...credentials });
    const observer = new Observer(client);
    client.on('message', (topic, payload) => {
      const parsed = parseDeviceTopic(topic);
      if (!parsed) return;
      if (parsed.kind === 'presence') observer.presence.push({ deviceId: parsed.deviceId, value: payload.toString() });
      if (parsed.kind === 'status') {
        const report = parseStatusReport(payload);
        if (report.ok) observer.reports.push({ deviceId: parsed.deviceId, bytes: payload, report: report.envelope.signed });
      }
    });
    await client.subscribeAsync(['fleet/v1/+/status', 'fleet/v1/+/presence'], { qos: 1 });
    return observer;
  }

  async publishDirective(topic: string, bytes: Uint8Array): Promise<void> {
    await this.client.publishAsync(topic, Buffer.from(bytes), { qos: 1, retain: true });
  }

  of(deviceId: string): StatusSigned[] {
    return this.reports.filter((r) => r.deviceId === deviceId).map((r) => r.report);
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}
