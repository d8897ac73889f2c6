// The file adapters: device records (atomic, 0600, validated on load) and A/B slots on disk.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { nodeEd25519 } from '../../../node-crypto/ed25519.js';
import { provisionDevice, publicKeyOf } from '../../../device-sim/agent/device-state.js';
import { FileDeviceStore } from '../../../device-sim/agent/file-store.js';
import { FileSlots } from '../../../device-sim/agent/file-slots.js';
import { DeviceAgent } from '../../../device-sim/agent/device-agent.js';
import { FakeFetcher, FakeTransport, ManualClock, waitFor } from '../support/fakes.js';
import { CLASS, directiveMessage, makeRelease, NOW, trustFixture, VENDOR } from '../support/trust.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fleet-ota-device-sim-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const t = trustFixture();
const record = (id: string) => provisionDevice({ deviceId: id, secretKey: new Uint8Array(randomBytes(32)), vendorId: VENDOR, classId: CLASS, root: t.root }, nodeEd25519);

describe('FileDeviceStore', () => {
  it('round-trips a record, mode 0600, no temp files left', async () => {
    const dir = await tempDir();
    const store = new FileDeviceStore(join(dir, 'state'));
    const r = record('dev-a');
    await store.save(r);
    await store.save({ ...r, counter: 3 });
    expect(await store.load('dev-a')).toEqual({ ...r, counter: 3 });
    expect((await stat(join(dir, 'state', 'dev-a.json'))).mode & 0o777).toBe(0o600);
    expect(await readdir(join(dir, 'state'))).toEqual(['dev-a.json']);
    expect(await store.list()).toEqual(['dev-a']);
    expect(await store.load('dev-b')).toBeUndefined();
  });

  it('refuses a corrupt or foreign record with state_corrupt', async () => {
    const dir = await tempDir();
    const store = new FileDeviceStore(dir);
    await writeFile(join(dir, 'bad.json'), '{"format":1');
    await expect(store.load('bad')).rejects.toMatchObject({ code: 'state_corrupt' });
    await writeFile(join(dir, 'inactive.json'), JSON.stringify({ ...record('inactive'), activeSlot: 'B' }));
    await expect(store.load('inactive')).rejects.toMatchObject({ code: 'state_corrupt' });
    await writeFile(join(dir, 'other.json'), JSON.stringify(record('someone')));
    await expect(store.load('other')).rejects.toMatchObject({ code: 'state_corrupt' });
    await expect(store.load('../etc/passwd')).rejects.toMatchObject({ code: 'state_corrupt' });
  });

  it('provisioning refuses a trust anchor that does not verify', () => {
    expect(() => provisionDevice({ deviceId: 'd', secretKey: new Uint8Array(32), vendorId: VENDOR, classId: CLASS, root: { ...t.root, signatures: [] } }, nodeEd25519))
      .toThrow(expect.objectContaining({ code: 'invalid_provisioning' }));
    expect(publicKeyOf(record('d'), nodeEd25519)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});

describe('FileSlots', () => {
  it('installs into the inactive slot, boots it on trial, commits or reverts', async () => {
    const dir = await tempDir();
    const slots = new FileSlots(dir);
    const bytes = new Uint8Array(randomBytes(5000));
    const sink = await slots.openStaging();
    await sink.write(bytes.subarray(0, 100));
    await sink.reset();
    await sink.write(bytes.subarray(0, 2000));
    await sink.write(bytes.subarray(2000));
    await sink.close();
    const expected = (await slots.digestOf('staging.bin'))!;
    expect(expected.size).toBe(5000);
    await expect(slots.install('A', expected)).rejects.toMatchObject({ code: 'slot_write_failed' });
    await expect(slots.install('B', { ...expected, sha256: '0'.repeat(64) })).rejects.toMatchObject({ code: 'staging_mismatch' });
    await slots.install('B', expected);
    expect(Buffer.from(await readFile(join(dir, 'B.img'))).equals(Buffer.from(bytes))).toBe(true);
    await slots.reboot('B');
    expect(await slots.bootState()).toEqual({ committed: 'A', trial: 'B' });
    expect(await slots.healthCheck('B')).toBe(true);
    await slots.revert('A');
    expect(await slots.bootState()).toEqual({ committed: 'A', trial: null });
    await slots.reboot('B');
    await slots.commit('B');
    expect(await slots.bootState()).toEqual({ committed: 'B', trial: null });
    await expect(slots.install('B', expected)).rejects.toMatchObject({ code: 'slot_write_failed' });
  });

  it('runs a whole install with the agent on disk, and resumes after a restart', async () => {
    const dir = await tempDir();
    const store = new FileDeviceStore(join(dir, 'state'));
    const slots = new FileSlots(join(dir, 'slots'));
    const payload = new Uint8Array(randomBytes(3000));
    const r = record('disk-1');
    await store.save(r);
    const release = makeRelease(t, { payload });
    const transport = new FakeTransport();
    const deps = { store, transport, fetcher: new FakeFetcher(payload), slots, clock: new ManualClock(NOW), ed25519: nodeEd25519 };
    const agent = new DeviceAgent(deps, { deviceId: 'disk-1', consent: () => undefined });
    await agent.start();
    transport.deliver(directiveMessage(t, { deviceId: 'disk-1', counter: 1, release, policy: { mode: 'optional' } }));
    await waitFor(() => transport.reports.length === 1);
    await agent.stop();
    const again = new DeviceAgent({ ...deps, transport: new FakeTransport() }, { deviceId: 'disk-1' });
    await again.start();
    await again.setConsent('granted');
    await waitFor(() => (again.snapshot().installed.sequence === 1 && again.snapshot().outbox.length === 0), 5000, 'installed');
    await again.stop();
    expect((await store.load('disk-1'))!).toMatchObject({ activeSlot: 'B', job: null, installed: { sequence: 1 } });
    expect(await slots.bootState()).toEqual({ committed: 'B', trial: null });
    expect(Buffer.from(await readFile(join(dir, 'slots', 'B.img'))).equals(Buffer.from(payload))).toBe(true);
  });
});
