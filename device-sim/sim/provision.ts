// provisionFleet: creates (or finds) the simulated devices' identities in a store, so the
// orchestrator can register their public keys before any of them connects. No network.
import { randomBytes } from 'node:crypto';
import { isDeviceId, isNameId, type Ed25519, type RootEnvelope, type RootSigned } from '../../protocol/index.js';
import { nodeEd25519 } from '../../node-crypto/ed25519.js';
import { provisionDevice, publicKeyOf, trustAnchorOf, type InstalledRelease } from '../agent/device-state.js';
import { AgentError } from '../agent/errors.js';
import { MemoryDeviceStore, type DeviceStore } from '../agent/store.js';
import { assignProfiles, parseProfileMix, type Profile, type ProfileMix } from './profiles.js';

export interface ProvisionOptions {
  count: number;
  /** Device ids are `${idPrefix}${index}`, the index zero-padded to at least 5 digits. */
  idPrefix?: string;
  /** The trust anchor every device is provisioned with. */
  root: RootEnvelope | RootSigned;
  vendorId: string;
  classId: string;
  /** `healthy` (default), `mixed`, `healthy:90,install-failure:10`, or a parsed mix. */
  profiles?: string | ProfileMix;
  /** Seeds profile assignment and simulated faults (not keys). */
  seed?: number;
  /** Where identities live; records already there are reused (same keys across runs). */
  store?: DeviceStore;
  /** Signature backend; the simulator uses node:crypto (noble verifies ~850 signatures/s here). */
  ed25519?: Ed25519;
  installed?: InstalledRelease;
}

export interface SimDevice {
  readonly id: string;
  /** base64url of the raw Ed25519 public key, as the registry takes it. */
  readonly publicKey: string;
  readonly vendorId: string;
  readonly classId: string;
  readonly profile: Profile;
}

export interface ProvisionedFleet {
  readonly devices: readonly SimDevice[];
  readonly store: DeviceStore;
  readonly seed: number;
  readonly ed25519: Ed25519;
}

export const DEFAULT_ID_PREFIX = 'sim-';
export const DEFAULT_SEED = 1;
/** A bound on one process's fleet: each device holds a socket, and `ulimit -n` is finite. */
export const MAX_FLEET_SIZE = 100_000;

export function deviceIds(count: number, prefix: string): string[] {
  const width = Math.max(5, String(count - 1).length);
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(width, '0')}`);
}

export async function provisionFleet(options: ProvisionOptions): Promise<ProvisionedFleet> {
  const { count, vendorId, classId } = options;
  if (!Number.isSafeInteger(count) || count < 1 || count > MAX_FLEET_SIZE) throw new AgentError('invalid_provisioning', `count must be 1..${MAX_FLEET_SIZE}`);
  if (!isNameId(vendorId) || !isNameId(classId)) throw new AgentError('invalid_provisioning', 'invalid vendor or class id');
  const ed25519 = options.ed25519 ?? nodeEd25519;
  const store = options.store ?? new MemoryDeviceStore();
  const seed = options.seed ?? DEFAULT_SEED;
  const mix = typeof options.profiles === 'string' ? parseProfileMix(options.profiles) : options.profiles ?? parseProfileMix('healthy');
  const ids = deviceIds(count, options.idPrefix ?? DEFAULT_ID_PREFIX);
  if (!ids.every(isDeviceId)) throw new AgentError('invalid_provisioning', 'id prefix makes invalid device ids');
  const profiles = assignProfiles(count, mix, seed);
  // Verified once, shared by reference by every record.
  const root = trustAnchorOf(options.root, ed25519);
  const devices: SimDevice[] = [];
  for (const [index, id] of ids.entries()) {
    let record = await store.load(id);
    if (!record || record.vendorId !== vendorId || record.classId !== classId) {
      record = provisionDevice({ deviceId: id, secretKey: new Uint8Array(randomBytes(32)), vendorId, classId, root, ...(options.installed ? { installed: options.installed } : {}) }, ed25519);
      await store.save(record);
    }
    devices.push({ id, publicKey: publicKeyOf(record, ed25519), vendorId, classId, profile: profiles[index]! });
  }
  return { devices, store, seed, ed25519 };
}
