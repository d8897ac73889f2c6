// The registry's state operations on a real Redis: indexes kept per device shard and merged in
// id order for paging, and group moves that stay consistent with the record when writers race
// (the update script declares the old index keys it read, and retries when they changed).
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeysWithPrefix } from '../../../state/redis.js';
import { DEVICE_SHARDS, deviceShard, indexMembers, indexSize, pageIndex, readDevice, registerDevices, revokeDevice, updateDevices, type NewDevice } from '../../../state/registry/index.js';

const prefix = `test:state-registry:${randomBytes(4).toString('hex')}:`;
let redis: Redis;
const now = new Date('2026-01-01T00:00:00Z');
const device = (id: string, groups: string[] = []): NewDevice => ({ id, publicKey: 'A'.repeat(43), vendorId: 'acme', classId: 'gw', groups, tags: [] });

beforeAll(() => {
  redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

describe('registry state', () => {
  const ids = Array.from({ length: 300 }, (_, i) => `d-${String(i).padStart(4, '0')}`);

  it('registers a batch over every shard and pages it back in id order', async () => {
    expect(new Set(ids.map(deviceShard)).size).toBe(DEVICE_SHARDS.length);
    expect(await registerDevices(redis, prefix, ids.map((id) => device(id, ['all'])), now)).toEqual(ids.map(() => true));
    // Again: every id is taken, in input order.
    expect(await registerDevices(redis, prefix, [device(ids[5]!), device('d-new')], now)).toEqual([false, true]);
    expect(await indexSize(redis, prefix, { kind: 'all' })).toBe(301);
    const seen: string[] = [];
    let from = '-';
    for (;;) {
      const page = await pageIndex(redis, prefix, { kind: 'group', name: 'all' }, from, '+', 37);
      seen.push(...page);
      if (page.length < 37) break;
      from = `(${page[page.length - 1]}`;
    }
    expect(seen).toEqual(ids);
  });

  it('moves group entries with the record, also when updates of one device race', async () => {
    const id = ids[0]!;
    const rounds = Array.from({ length: 24 }, (_, i) => updateDevices(redis, prefix, [{ id, groups: [`g${i}`, 'common'] }], 32));
    expect((await Promise.all(rounds)).flat()).toEqual(Array(24).fill('updated'));
    const record = await readDevice(redis, prefix, id);
    const holding = [];
    for (let i = 0; i < 24; i++) if ((await indexMembers(redis, prefix, [{ kind: 'group', name: `g${i}` }])).has(id)) holding.push(`g${i}`);
    // Exactly the groups the record names hold the device: no entry left behind by a lost race.
    expect(holding).toEqual(record!.groups.filter((g) => g !== 'common'));
    expect((await indexMembers(redis, prefix, [{ kind: 'group', name: 'all' }])).has(id)).toBe(false);
    expect((await indexMembers(redis, prefix, [{ kind: 'group', name: 'common' }])).has(id)).toBe(true);
    expect(await updateDevices(redis, prefix, [{ id: 'nobody', groups: [] }], 32)).toEqual(['not_found']);
  });

  it('revokes into the shard revoked index and publishes on the revocation channel', async () => {
    const id = ids[7]!;
    expect(await revokeDevice(redis, prefix, id, now)).toBe('revoked');
    expect(await revokeDevice(redis, prefix, id, now)).toBe('already_revoked');
    expect(await revokeDevice(redis, prefix, 'nobody', now)).toBe('not_found');
    expect([...(await indexMembers(redis, prefix, [{ kind: 'revoked' }]))]).toEqual([id]);
    expect((await readDevice(redis, prefix, id))?.revoked).toBe(true);
  });
});
