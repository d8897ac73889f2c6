// The device shard rule is fixed for the life of a deployment: published FNV-1a 32 vectors hold
// the hash, fixed ids hold the shard, and the key builders put a device's record and history in
// one slot.
import { describe, expect, it } from 'vitest';
import { DEVICE_SHARD_COUNT, DEVICE_SHARDS, deviceShard, deviceShardTag, fnv1a32 } from '../../../state/registry/device-shard.js';
import { deviceHistoryKey, deviceKey, deviceTag } from '../../../state/registry/device-keys.js';

describe('fnv1a32', () => {
  // Vectors from the FNV reference test suite (http://www.isthe.com/chongo/src/fnv/test_fnv.c, FNV1A_32).
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['b', 0xe70c2de5],
    ['foobar', 0xbf9cf968],
    ['chongo was here!\n', 0xd49930d5],
  ])('hashes %j', (text, expected) => {
    expect(fnv1a32(text)).toBe(expected);
  });
});

describe('deviceShard', () => {
  it('is fixed: the same ids land on the same shards in every release', () => {
    // Changing these moves every deployed device's keys: a data migration, never a refactor.
    expect(['dev-0001', 'dev-0002', 'gw-42', 'a'].map(deviceShard)).toEqual(['dev-0001', 'dev-0002', 'gw-42', 'a'].map((id) => fnv1a32(id) % 16));
    expect(deviceShard('a')).toBe(0xe40c292c % 16);
    expect(DEVICE_SHARD_COUNT).toBe(16);
    expect(DEVICE_SHARDS).toEqual([...Array(16).keys()]);
  });

  it('spreads a fleet over every shard', () => {
    const counts = new Array<number>(DEVICE_SHARD_COUNT).fill(0);
    for (let i = 0; i < 16_000; i++) counts[deviceShard(`device-${i}`)]!++;
    for (const count of counts) expect(count).toBeGreaterThan(800);
  });

  it('names the tag after the shard', () => {
    expect(deviceShardTag(3)).toBe('dev:3');
    expect(deviceTag('a')).toBe(`dev:${0xe40c292c % 16}`);
  });
});

describe('device keys', () => {
  it('put a device record and its history in one slot (same hash tag)', () => {
    const record = deviceKey('p:', 'gw-42');
    const history = deviceHistoryKey('p:', 'gw-42');
    expect(history).toBe(`${record}:history`);
    expect(record).toBe(`p:{dev:${deviceShard('gw-42')}}:device:gw-42`);
  });
});
