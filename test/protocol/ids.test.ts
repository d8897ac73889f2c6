// Identifier syntax and topic names (docs/protocol.md#basics, MQTT topics): built and parsed in
// protocol/ids.ts only.
import { describe, expect, it } from 'vitest';
import {
  ALL_STATUS_TOPICS,
  directiveTopic,
  isDeviceId,
  isNameId,
  parseDeviceTopic,
  presenceTopic,
  statusTopic,
} from '../../protocol/index.js';

describe('device ids and name ids', () => {
  it('device ids are [A-Za-z0-9_-]{1,64}', () => {
    for (const ok of ['a', 'dev-0001', 'DEV_1', 'x'.repeat(64), '-', '_']) expect(isDeviceId(ok), ok).toBe(true);
    for (const bad of ['', 'x'.repeat(65), 'dev.1', 'dev/1', 'dev+1', 'dev#1', 'dév', 'dev 1', 'dev\n', '$SYS', 42, null]) expect(isDeviceId(bad), String(bad)).toBe(false);
  });

  it('name ids also allow dots', () => {
    for (const ok of ['acme', 'gw-2', 'fw.1.2', 'a'.repeat(64)]) expect(isNameId(ok), ok).toBe(true);
    for (const bad of ['', 'a'.repeat(65), 'a/b', 'a b', 'a+b']) expect(isNameId(bad), bad).toBe(false);
  });
});

describe('topics', () => {
  it('builds the three device topics', () => {
    expect(directiveTopic('dev-1')).toBe('fleet/v1/dev-1/directive');
    expect(statusTopic('dev-1')).toBe('fleet/v1/dev-1/status');
    expect(presenceTopic('dev-1')).toBe('fleet/v1/dev-1/presence');
  });

  it('parses what it builds', () => {
    for (const [build, kind] of [[directiveTopic, 'directive'], [statusTopic, 'status'], [presenceTopic, 'presence']] as const) {
      expect(parseDeviceTopic(build('dev_9'))).toEqual({ deviceId: 'dev_9', kind });
    }
  });

  it.each([
    ALL_STATUS_TOPICS,
    'fleet/v1/#',
    'fleet/v1/dev-1/status/extra',
    'fleet/v1/dev-1',
    'fleet/v2/dev-1/status',
    '/fleet/v1/dev-1/status',
    'fleet/v1//status',
    'fleet/v1/dev.1/status',
    'fleet/v1/dev-1/config',
    'fleet/v1/+/directive',
    '$SYS/broker/clients',
    '',
  ])('refuses %j', (topic) => {
    expect(parseDeviceTopic(topic)).toBeUndefined();
  });
});
