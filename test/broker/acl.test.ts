// The pure authorization decisions (broker/acl.ts), table by table.
import { describe, expect, it } from 'vitest';
import { canPublish, canReceive, canSubscribe, canWill, parseSharedSubscription, type Identity } from '../../broker/index.js';

const device: Identity = { kind: 'device', deviceId: 'dev-1' };
const orchestrator: Identity = { kind: 'service', username: 'orchestrator', role: 'orchestrator' };
const dashboard: Identity = { kind: 'service', username: 'dash', role: 'dashboard' };
const limits = { maxDirectiveBytes: 64 * 1024, maxStatusBytes: 4 * 1024 };
const bytes = (text: string) => new TextEncoder().encode(text);
const publish = (identity: Identity, topic: string, payload: Uint8Array | string = 'x', retain = false) =>
  canPublish(identity, { topic, payload: typeof payload === 'string' ? bytes(payload) : payload, retain }, limits);

describe('canSubscribe', () => {
  it('a device: its own directive topic, nothing else', () => {
    expect(canSubscribe(device, 'fleet/v1/dev-1/directive')).toEqual({ ok: true });
    for (const topic of ['fleet/v1/dev-2/directive', '#', '+/+/+/+', 'fleet/v1/+/directive', 'fleet/v1/dev-1/#', 'fleet/v1/dev-1/+',
      'fleet/v1/dev-1/status', 'fleet/v1/dev-1/presence', '$SYS/#', '$share/g/fleet/v1/dev-1/directive', 'fleet/v1/dev-1/directive/', '']) {
      expect(canSubscribe(device, topic).ok, topic).toBe(false);
    }
  });
  it('services: status and presence, wildcard or one device, plain or shared', () => {
    for (const identity of [orchestrator, dashboard]) {
      for (const topic of ['fleet/v1/+/status', 'fleet/v1/+/presence', 'fleet/v1/dev-9/status', 'fleet/v1/dev-9/presence']) {
        expect(canSubscribe(identity, topic), topic).toEqual({ ok: true });
      }
      expect(canSubscribe(identity, '$share/workers/fleet/v1/+/status')).toEqual({ ok: true, shared: { group: 'workers', filter: 'fleet/v1/+/status' } });
      for (const topic of ['#', 'fleet/#', 'fleet/v1/+/+', 'fleet/v1/+/directive', 'fleet/v1/dev-9/directive', '$SYS/#', '$share/workers/#',
        '$share//fleet/v1/+/status', '$share/bad group/fleet/v1/+/status', '$share/g', 'fleet/v1/bad id!/status']) {
        expect(canSubscribe(identity, topic).ok, topic).toBe(false);
      }
    }
  });
});

describe('canPublish', () => {
  it('a device publishes its own status (not retained, at most 4 KiB) and presence online/offline', () => {
    expect(publish(device, 'fleet/v1/dev-1/status')).toEqual({ ok: true });
    expect(publish(device, 'fleet/v1/dev-1/status', new Uint8Array(4096))).toEqual({ ok: true });
    expect(publish(device, 'fleet/v1/dev-1/status', new Uint8Array(4097))).toEqual({ ok: false, reason: 'status_too_large', action: 'disconnect' });
    expect(publish(device, 'fleet/v1/dev-1/status', 'x', true)).toEqual({ ok: false, reason: 'retain_denied', action: 'drop' });
    expect(publish(device, 'fleet/v1/dev-1/presence', 'online', true)).toEqual({ ok: true });
    expect(publish(device, 'fleet/v1/dev-1/presence', 'offline', true)).toEqual({ ok: true });
    expect(publish(device, 'fleet/v1/dev-1/presence', 'Online', true)).toEqual({ ok: false, reason: 'presence_payload', action: 'drop' });
    expect(publish(device, 'fleet/v1/dev-1/presence', 'online!', true)).toEqual({ ok: false, reason: 'presence_payload', action: 'drop' });
  });
  it('a device may not publish directives, other devices\' topics or anything else', () => {
    for (const topic of ['fleet/v1/dev-1/directive', 'fleet/v1/dev-2/status', 'fleet/v1/dev-2/presence', 'other', 'fleet/v1/dev-1/status/x']) {
      expect(publish(device, topic), topic).toEqual({ ok: false, reason: 'publish_denied', action: 'drop' });
    }
  });
  it('$SYS is refused to everyone and closes the connection (aedes #597)', () => {
    for (const identity of [device, orchestrator, dashboard]) {
      expect(publish(identity, '$SYS/abc/new/clients')).toEqual({ ok: false, reason: 'sys_publish', action: 'disconnect' });
    }
  });
  it('the orchestrator publishes directives to any valid device id (retained, empty clears), at most 64 KiB', () => {
    expect(publish(orchestrator, 'fleet/v1/dev-7/directive', 'd', true)).toEqual({ ok: true });
    expect(publish(orchestrator, 'fleet/v1/dev-7/directive', '', true)).toEqual({ ok: true });
    expect(publish(orchestrator, 'fleet/v1/dev-7/directive', new Uint8Array(65536))).toEqual({ ok: true });
    expect(publish(orchestrator, 'fleet/v1/dev-7/directive', new Uint8Array(65537))).toEqual({ ok: false, reason: 'directive_too_large', action: 'disconnect' });
    for (const topic of ['fleet/v1/dev-7/status', 'fleet/v1/dev-7/presence', 'fleet/v1/bad id/directive', 'x']) {
      expect(publish(orchestrator, topic).ok, topic).toBe(false);
    }
  });
  it('a dashboard publishes nothing', () => {
    expect(publish(dashboard, 'fleet/v1/dev-7/directive')).toEqual({ ok: false, reason: 'publish_denied', action: 'drop' });
  });
});

describe('canReceive (authorizeForward)', () => {
  it('re-checks every delivery', () => {
    expect(canReceive(device, 'fleet/v1/dev-1/directive')).toBe(true);
    expect(canReceive(device, 'fleet/v1/dev-2/directive')).toBe(false);
    expect(canReceive(device, 'fleet/v1/dev-1/status')).toBe(false);
    expect(canReceive(orchestrator, 'fleet/v1/dev-2/status')).toBe(true);
    expect(canReceive(dashboard, 'fleet/v1/dev-2/presence')).toBe(true);
    expect(canReceive(dashboard, 'fleet/v1/dev-2/directive')).toBe(false);
    expect(canReceive(orchestrator, '$SYS/x/new/clients')).toBe(false);
  });
});

describe('canWill and shared subscriptions', () => {
  it('a will goes only to the device\'s own presence topic with offline (aedes #211)', () => {
    expect(canWill('dev-1', { topic: 'fleet/v1/dev-1/presence', payload: bytes('offline') })).toBe(true);
    expect(canWill('dev-1', { topic: 'fleet/v1/dev-1/presence', payload: bytes('online') })).toBe(false);
    expect(canWill('dev-1', { topic: 'fleet/v1/dev-2/presence', payload: bytes('offline') })).toBe(false);
    expect(canWill('dev-1', { topic: 'fleet/v1/dev-1/status', payload: bytes('offline') })).toBe(false);
    expect(canWill('bad id', { topic: 'fleet/v1/bad id/presence', payload: bytes('offline') })).toBe(false);
  });
  it('parses $share/<group>/<filter>', () => {
    expect(parseSharedSubscription('$share/g-1/a/b')).toEqual({ group: 'g-1', filter: 'a/b' });
    expect(parseSharedSubscription('$share/g/')).toBeUndefined();
    expect(parseSharedSubscription('$share//a')).toBeUndefined();
    expect(parseSharedSubscription('a/b')).toBeUndefined();
  });
});
