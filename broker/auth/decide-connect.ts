// The CONNECT decision: which identity a connection gets, or which refusal with which CONNACK
// code (MQTT 3.1.1 §3.2.2.3). Devices: clientId = username = deviceId, password = connect token
// (docs/protocol.md). Services: username = account, password = secret. No Aedes, no sockets here.
import { isDeviceId } from '../../protocol/index.js';
import { canWill, type Identity } from '../acl.js';
import type { ServiceAccount } from '../config/broker-config.js';
import { CONNACK, type ConnackCode, type RefusalReason } from '../refusals.js';
import { RegistryUnavailableError, type DeviceKeyLookup as KeyLookup } from '../../state/registry/index.js';
import type { DeviceVerifyKey } from './verify-connect-token.js';

/** What the device-key cache (state/registry/device-key-cache.ts) answers for a device. */
export type DeviceKeyLookup = KeyLookup<DeviceVerifyKey>;
import { verifyServiceSecret } from './service-accounts.js';
import { MAX_TOKEN_CHARS, verifyConnectToken } from './verify-connect-token.js';

/** Service client ids: printable, bounded; device-shaped ids must not name a registered device. */
const MAX_SERVICE_CLIENT_ID_CHARS = 128;

export interface ConnectAttempt {
  clientId: string;
  username: string | undefined;
  password: Uint8Array | undefined;
  /** The will as sent in CONNECT, before any normalization. */
  will: { topic: string; payload: Uint8Array } | undefined;
}

/** `tokenExpiresAt`: devices only, the connect token's exp in seconds (the session ends after it). */
export type ConnectDecision =
  | { ok: true; identity: Identity; tokenExpiresAt?: number }
  | { ok: false; reason: RefusalReason; returnCode: ConnackCode };

export interface DecideConnectDeps {
  serviceAccounts: ReadonlyMap<string, ServiceAccount>;
  lookupDevice(deviceId: string): Promise<DeviceKeyLookup>;
  nowSeconds(): number;
  maxTokenLifetimeSeconds: number;
}

function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function refuse(reason: RefusalReason, returnCode: ConnackCode): ConnectDecision {
  return { ok: false, reason, returnCode };
}

async function lookup(deps: DecideConnectDeps, deviceId: string): Promise<DeviceKeyLookup | ConnectDecision> {
  try {
    return await deps.lookupDevice(deviceId);
  } catch (error) {
    if (error instanceof RegistryUnavailableError) return refuse('registry_unavailable', CONNACK.serverUnavailable);
    throw error;
  }
}

function isDecision(value: DeviceKeyLookup | ConnectDecision): value is ConnectDecision {
  return 'ok' in value;
}

export async function decideConnect(attempt: ConnectAttempt, deps: DecideConnectDeps): Promise<ConnectDecision> {
  const { clientId, username, password, will } = attempt;
  if (username === undefined || username.length === 0 || password === undefined || password.length === 0) {
    return refuse('bad_credentials', CONNACK.badUsernameOrPassword);
  }

  const account = deps.serviceAccounts.get(username);
  if (account !== undefined) {
    if (!verifyServiceSecret(account, password)) return refuse('bad_credentials', CONNACK.badUsernameOrPassword);
    if (clientId.length === 0 || clientId.length > MAX_SERVICE_CLIENT_ID_CHARS || hasControlCharacters(clientId)) {
      return refuse('bad_client_id', CONNACK.identifierRejected);
    }
    // Services hold no will: their grants include no topic a will could go to.
    if (will !== undefined) return refuse('will_denied', CONNACK.notAuthorized);
    // A service must not take a device's client id (it would take over the device's session).
    if (isDeviceId(clientId)) {
      const found = await lookup(deps, clientId);
      if (isDecision(found)) return found;
      if (found.status !== 'unknown') return refuse('bad_client_id', CONNACK.identifierRejected);
    }
    return { ok: true, identity: { kind: 'service', username: account.username, role: account.role } };
  }

  // Device: clientId = username = deviceId (docs/protocol.md#device-connect-token).
  if (!isDeviceId(clientId)) return refuse('bad_client_id', CONNACK.identifierRejected);
  if (username !== clientId) return refuse('client_id_mismatch', CONNACK.identifierRejected);
  if (will !== undefined && !canWill(clientId, will)) return refuse('will_denied', CONNACK.notAuthorized);
  if (password.length > MAX_TOKEN_CHARS) return refuse('token_malformed', CONNACK.badUsernameOrPassword);

  const found = await lookup(deps, clientId);
  if (isDecision(found)) return found;
  if (found.status === 'unknown') return refuse('unknown_device', CONNACK.badUsernameOrPassword);
  if (found.status === 'revoked') return refuse('revoked', CONNACK.notAuthorized);
  if (found.status === 'bad_key') return refuse('bad_public_key', CONNACK.badUsernameOrPassword);

  const token = Buffer.from(password.buffer, password.byteOffset, password.byteLength).toString('utf8');
  const verdict = await verifyConnectToken({
    deviceId: clientId,
    token,
    publicKey: found.key,
    nowSeconds: deps.nowSeconds(),
    maxLifetimeSeconds: deps.maxTokenLifetimeSeconds,
  });
  if (!verdict.ok) return refuse(verdict.reason, CONNACK.badUsernameOrPassword);
  return { ok: true, identity: { kind: 'device', deviceId: clientId }, tokenExpiresAt: verdict.expiresAt };
}
