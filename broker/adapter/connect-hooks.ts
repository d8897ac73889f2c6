// Aedes CONNECT hooks: preConnect (normalizes the device's will), authenticate (the decision in
// auth/decide-connect.ts, the per-client-id reconnect limit, then the takeover rule) and the
// connect / disconnect bookkeeping: presence, and the end of a session when its token expires.
import type { AuthenticateError, Client, ConnectPacket } from 'aedes';
import { isDeviceId, LIMITS } from '../../protocol/index.js';
import { sameIdentity, type Identity } from '../acl.js';
import { decideConnect, type ConnectAttempt, type ConnectDecision } from '../auth/decide-connect.js';
import { SessionExpiry } from '../auth/session-expiry.js';
import { ClientBuckets } from '../limits/client-buckets.js';
import { CONNACK, type ConnackCode } from '../refusals.js';
import { internals, liveClients, type AdapterContext } from './context.js';
import { presenceWill, publishPresence } from './presence.js';

/** Room for a topic (`fleet/v1/` + 64-char id + `/presence`), packet id and fixed header. */
const PACKET_OVERHEAD_BYTES = 256;

type AuthenticateDone = (error: AuthenticateError | null, success: boolean | null) => void;

/** Aedes puts `returnCode` (2..5) in the CONNACK. */
function authError(reason: string, returnCode: ConnackCode): AuthenticateError {
  return Object.assign(new Error(reason), { returnCode }) as unknown as AuthenticateError;
}

function maxPacketBytesFor(identity: Identity, context: AdapterContext): number {
  const { limits } = context.config;
  // A device publishes status (the larger of its payloads); the orchestrator publishes directives.
  return (identity.kind === 'device' ? limits.maxStatusBytes : limits.maxDirectiveBytes) + PACKET_OVERHEAD_BYTES;
}

export function createConnectHooks(context: AdapterContext) {
  /** The will exactly as the client sent it, kept for the decision before it is normalized. */
  const sentWills = new WeakMap<Client, ConnectAttempt['will']>();
  const { limits } = context.config;
  const perMinute = limits.reconnectsPerClientPerMin;
  // An emptied bucket is full again after one minute idle: forgetting it then changes nothing.
  const reconnects =
    perMinute > 0
      ? new ClientBuckets({ ratePerSec: perMinute / 60, burst: perMinute, idleMs: 60_000, maxTracked: limits.clientLimitsMaxTracked })
      : undefined;
  const expiry = new SessionExpiry<Client>({
    nowSeconds: () => context.now() / 1000,
    onExpired: (client) => {
      if (client.closed) return;
      context.record('session_expired');
      context.logger.debug({ clientId: client.id }, 'session closed: connect token expired');
      client.close();
    },
  });

  function preConnect(client: Client, packet: ConnectPacket, callback: (error: Error | null, success: boolean) => void): void {
    const will = packet.will ? { topic: packet.will.topic, payload: Buffer.from(packet.will.payload ?? []) } : undefined;
    sentWills.set(client, will);
    const username = packet.username;
    if (isDeviceId(packet.clientId) && (username === undefined || !context.serviceAccounts.has(username))) {
      // Aedes stores packet.will after authenticate succeeds. A device's will is always its
      // retained `offline`; a will it sent for anything else is refused in authenticate.
      packet.will = presenceWill(packet.clientId);
    }
    callback(null, true);
  }

  function refuse(client: Client, done: AuthenticateDone, decision: Extract<ConnectDecision, { ok: false }>): void {
    context.record(decision.reason);
    // Aedes 1.2.0 Client#close wipes the inbound QoS 2 store of `client.id` when the refused
    // connection asked for a clean session: that store belongs to the live client of the same
    // id, if any (aedes #16/#337 in another form). A refused connection has no session at all.
    internals(client).clean = false;
    done(authError(decision.reason, decision.returnCode), false);
  }

  async function decide(client: Client, username: string | undefined, password: Buffer | undefined): Promise<ConnectDecision> {
    const attempt: ConnectAttempt = { clientId: client.id, username, password, will: sentWills.get(client) };
    const deps = {
      serviceAccounts: context.serviceAccounts,
      lookupDevice: (id: string) => context.keyCache.lookupOne(id),
      nowSeconds: () => Math.floor(context.now() / 1000),
      maxTokenLifetimeSeconds: context.config.limits.maxTokenLifetimeS,
    };
    const generation = context.keyCache.generation;
    const decision = await decideConnect(attempt, deps);
    // A revocation that landed while the key was being read: decide again on fresh data.
    if (decision.ok && context.keyCache.generation !== generation) return decideConnect(attempt, deps);
    return decision;
  }

  function authenticate(client: Client, username: string | undefined, password: Buffer | undefined, done: AuthenticateDone): void {
    decide(client, username, password).then(
      (decision) => {
        if (!decision.ok) return refuse(client, done, decision);
        const identity = decision.identity;
        // aedes #16/#337: a taken client id is handed over only to the same identity; Aedes
        // unregisters nothing for a refused CONNECT, so the live client stays.
        const existing = liveClients(context.aedes)[client.id];
        const existingSession = existing && existing !== client ? context.sessions.get(existing) : undefined;
        if (existingSession && !sameIdentity(existingSession.identity, identity)) {
          return refuse(client, done, { ok: false, reason: 'client_id_taken', returnCode: CONNACK.identifierRejected });
        }
        // Counted only once the device proved its key, so nobody else can use up its allowance.
        // "Server unavailable": a temporary refusal the device retries after its backoff.
        if (identity.kind === 'device' && reconnects !== undefined && !reconnects.tryTake(client.id, performance.now())) {
          return refuse(client, done, { ok: false, reason: 'reconnect_rate', returnCode: CONNACK.serverUnavailable });
        }
        const previous = context.latest.get(client.id);
        if (previous && previous !== client) {
          const previousSession = context.sessions.get(previous);
          if (previousSession) previousSession.superseded = true;
        }
        const connection = internals(client).conn;
        context.sessions.set(client, { identity, connection, superseded: false, offlineSaid: false });
        context.latest.set(client.id, client);
        // The session lives while its token would still be accepted at CONNECT: exp + skew.
        if (decision.tokenExpiresAt !== undefined) expiry.add(client, decision.tokenExpiresAt + LIMITS.connectTokenSkewSeconds);
        connection.once('close', () => {
          expiry.remove(client);
          if (context.latest.get(client.id) === client) context.latest.delete(client.id);
        });
        connection.setMaxPacketBytes(maxPacketBytesFor(identity, context));
        done(null, true);
      },
      (error: unknown) => {
        context.logger.error({ err: error, clientId: client.id }, 'connect decision failed');
        context.record('registry_unavailable');
        done(authError('registry_unavailable', CONNACK.serverUnavailable), false);
      },
    );
  }

  function onClientReady(client: Client): void {
    const session = context.sessions.get(client);
    if (!session) return;
    context.metrics.connects.inc();
    context.logger.debug({ clientId: client.id, kind: session.identity.kind }, 'client connected');
    if (session.identity.kind === 'device') {
      publishPresence(context.aedes, session.identity.deviceId, 'online').catch((error: unknown) =>
        context.logger.warn({ err: error, clientId: client.id }, 'presence online not published'),
      );
    }
  }

  /**
   * Every disconnect of a device says `offline` once: an unclean one through its will (see
   * publish-hooks authorizeWill), a clean DISCONNECT (Aedes discards the will) here. Nothing
   * when a newer connection took the id over (here or on another node) or the broker is closing
   * (shutdown says it). Aedes emits this after the will was authorized.
   */
  function onClientDisconnect(client: Client): void {
    expiry.remove(client);
    const session = context.sessions.get(client);
    if (session?.identity.kind !== 'device' || session.superseded || session.offlineSaid || context.shuttingDown) return;
    session.offlineSaid = true;
    publishPresence(context.aedes, session.identity.deviceId, 'offline').catch((error: unknown) =>
      context.logger.warn({ err: error, clientId: client.id }, 'presence offline not published'),
    );
  }

  function close(): void {
    expiry.close();
  }

  return { preConnect, authenticate, onClientReady, onClientDisconnect, close };
}
