// A scripted device for engine tests: a real MQTT client with its own key and connect token that
// verifies directives with protocol/ and answers with a fixed script, or sends crafted reports.
// (device-sim's agent is the full device; this one exists to control each report exactly.)
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import {
  buildConnectToken, buildStatusBody, checkDirectiveMessage, directiveTopic, encodePublicKey, encodeStatusReport,
  formatWireTime, signingKeyFromSeed, statusTopic, type DirectivePlan, type ReasonCode, type ReportedState, type RootSigned, type SigningKey,
} from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';

/** `failAfterInstall`: writes the image (seen device-side as `installedAt`), then fails after `delayMs`. */
export type Script = 'succeed' | 'silent' | { fail: ReasonCode } | { reject: ReasonCode } | { failAfterInstall: ReasonCode; delayMs: number };

export interface ScriptedDevice {
  id: string;
  publicKey: string;
  key: SigningKey;
  plans: DirectivePlan[];
  refusals: string[];
  /** Every directive message delivered, as bytes, refused or not. */
  received: Buffer[];
  script: Script;
  /** When this device began installing a release (the device's own observation, not the orchestrator's). */
  installedAt?: number;
  connect(brokerUrl: string): Promise<void>;
  report(plan: Pick<DirectivePlan['directive'], 'rolloutId' | 'counter'>, state: ReportedState, extra?: { reason?: ReasonCode; progress?: number; seq?: number; signWith?: SigningKey; deviceId?: string }): Promise<void>;
  close(): Promise<void>;
}

export function scriptedDevice(id: string, root: RootSigned, script: Script = 'succeed'): ScriptedDevice {
  const key = signingKeyFromSeed(new Uint8Array(randomBytes(32)), nodeEd25519);
  let client: MqttClient | undefined;
  let seq = 0;
  let counter = 0;
  let trusted = root;
  const device: ScriptedDevice = {
    id,
    publicKey: encodePublicKey(key.publicKey),
    key,
    plans: [],
    refusals: [],
    received: [],
    script,
    async connect(brokerUrl) {
      const now = Math.floor(Date.now() / 1000);
      client = mqtt.connect(brokerUrl, { clientId: id, username: id, password: buildConnectToken(id, key.secretKey, now, 3600, nodeEd25519), reconnectPeriod: 0, clean: true });
      await new Promise<void>((resolve, reject) => {
        client!.once('connect', () => resolve());
        client!.once('error', reject);
      });
      client.on('message', (_topic, payload) => {
        device.received.push(Buffer.from(payload));
        void onDirective(new Uint8Array(payload));
      });
      await client.subscribeAsync(directiveTopic(id), { qos: 1 });
    },
    async report(plan, state, extra = {}) {
      seq = extra.seq ?? seq + 1;
      const body = buildStatusBody({
        deviceId: extra.deviceId ?? id,
        rolloutId: plan.rolloutId,
        counter: plan.counter,
        seq,
        state,
        ...(extra.progress !== undefined ? { progress: extra.progress } : {}),
        ...(extra.reason ? { reason: extra.reason } : {}),
        installed: { releaseId: 'factory', sequence: 0 },
        rootVersion: trusted.version,
        at: formatWireTime(Date.now() / 1000),
      });
      await client!.publishAsync(statusTopic(id), Buffer.from(encodeStatusReport(body, extra.signWith ?? key, nodeEd25519)), { qos: 1 });
    },
    async close() {
      await client?.endAsync();
    },
  };

  async function onDirective(bytes: Uint8Array): Promise<void> {
    const result = checkDirectiveMessage({ root: trusted, deviceId: id, counter, sequence: 0, vendorId: 'acme', classId: 'gw-1' }, bytes, Math.floor(Date.now() / 1000), nodeEd25519);
    if (!result.ok) {
      device.refusals.push(result.reason);
      return;
    }
    const plan = result.plan;
    trusted = plan.root;
    counter = plan.directive.counter;
    device.plans.push(plan);
    if (plan.action === 'cancel' || device.script === 'silent') return;
    const d = plan.directive;
    if (typeof device.script === 'object' && 'reject' in device.script) {
      await device.report(d, 'rejected', { reason: device.script.reject });
      return;
    }
    await device.report(d, 'accepted');
    await device.report(d, 'downloading', { progress: 100 });
    if (typeof device.script === 'object' && 'fail' in device.script) {
      await device.report(d, 'failed', { reason: device.script.fail });
      return;
    }
    const script = device.script;
    if (typeof script === 'object' && 'failAfterInstall' in script) {
      await device.report(d, 'verifying');
      device.installedAt ??= Date.now();
      await device.report(d, 'installing');
      await new Promise((resolve) => setTimeout(resolve, script.delayMs));
      await device.report(d, 'failed', { reason: script.failAfterInstall });
      return;
    }
    for (const state of ['verifying', 'installing', 'rebooting', 'succeeded'] as const) await device.report(d, state);
  }
  return device;
}

/** A test's scripted fleet on a local stack: registers and connects devices, publishes releases, closes all. */
export function scriptedFleet(stackOf: () => { root: { signed: RootSigned }; brokerUrl: string; registerDevices(d: Array<{ id: string; publicKey: string; groups?: string[] }>): Promise<number | void>; publishRelease(r: { releaseId: string; version: string; sequence: number }): Promise<{ releaseId: string }> }) {
  const devices: ScriptedDevice[] = [];
  let sequence = 1;
  return {
    devices,
    async add(prefix: string, count: number, script: (i: number) => Script = () => 'succeed', groups: string[] = []): Promise<ScriptedDevice[]> {
      const stack = stackOf();
      const made = Array.from({ length: count }, (_, i) => scriptedDevice(`${prefix}-${String(i).padStart(3, '0')}`, stack.root.signed, script(i)));
      await stack.registerDevices(made.map((d) => ({ id: d.id, publicKey: d.publicKey, groups })));
      await Promise.all(made.map((d) => d.connect(stack.brokerUrl)));
      devices.push(...made);
      return made;
    },
    async release(): Promise<string> {
      const n = sequence++;
      return (await stackOf().publishRelease({ releaseId: `rel-${n}`, version: `1.0.${n}`, sequence: n })).releaseId;
    },
    close: () => Promise.all(devices.map((d) => d.close())),
  };
}
