// The broker's session state in Redis (aedes-persistence-redis): sessions and their
// subscriptions, retained messages, wills, and QoS 1 messages queued for or in flight to
// persistent sessions. Used by default, single node and cluster alike, so a broker restart
// loses none of it. Keys live under `${keyPrefix}mqtt:` (the library takes no prefix of its own:
// ioredis' keyPrefix applies it), so deployments and test runs sharing one Redis stay apart.
import { Redis } from 'ioredis';
import aedesPersistenceRedis from 'aedes-persistence-redis';
import { serializeSubscriptionChanges } from './serialize-subscriptions.js';

export interface RedisPersistenceOptions {
  /** Queued messages handed to a persistent session when it resumes (the rest at its next resume). */
  maxSessionDelivery: number;
  /** Redis errors no caller waits for (connection errors, unawaited writes): for the log. */
  onError(error: Error): void;
}

/** Commands aedes-persistence-redis 11.2 sends without awaiting them (asyncPersistence.js). */
const UNAWAITED_COMMANDS = ['lrem', 'rpush'] as const;

export interface RedisPersistence {
  /** For Aedes' `persistence` option. */
  persistence: object;
  /** Releases the persistence's Redis connection. */
  close(): Promise<void>;
}

export function mqttNamespace(keyPrefix: string): string {
  return `${keyPrefix}mqtt:`;
}

export function createRedisPersistence(redisUrl: string, keyPrefix: string, options: RedisPersistenceOptions): RedisPersistence {
  // maxRetriesPerRequest null: while Redis is away a publish waits for its write instead of
  // failing, so the broker never acknowledges a message it has not stored.
  const conn = new Redis(redisUrl, { keyPrefix: mqttNamespace(keyPrefix), maxRetriesPerRequest: null });
  conn.on('error', options.onError);
  // putWill/delWill fire LREM/RPUSH on the will list and never await them: a Redis error there
  // (maxmemory, a closing connection) would be an unhandled rejection, which ends the process.
  // Their promises are marked handled here; a caller that awaits one still gets the error.
  const commands = conn as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of UNAWAITED_COMMANDS) {
    const command = commands[name]!.bind(conn);
    commands[name] = (...args) => {
      const result = command(...args);
      result.catch(options.onError);
      return result;
    };
  }
  const persistence = aedesPersistenceRedis({ conn, maxSessionDelivery: options.maxSessionDelivery });
  serializeSubscriptionChanges(persistence);
  let closed = false;
  return {
    persistence,
    close: async () => {
      if (closed) return;
      closed = true;
      // QUIT lets the writes already sent finish; destroy() alone would cut them off.
      await conn.quit().catch(() => undefined);
      await persistence.destroy().catch(() => conn.disconnect());
    },
  };
}
