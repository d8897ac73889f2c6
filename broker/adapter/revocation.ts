// Revocation: the orchestrator publishes a revoked device id on the registry's pub/sub channel;
// every broker node drops that id from its key cache (state/registry DeviceKeyCache.listen) and
// closes the device's live connection.
// Uses its own Redis connection (a subscribed connection can run no other command).
import type { RedisClient as Redis } from '../../state/redis.js';
import { liveClients, type AdapterContext } from './context.js';

export interface RevocationListener {
  close(): Promise<void>;
}

export async function listenForRevocations(context: AdapterContext, subscriber: Redis): Promise<RevocationListener> {
  subscriber.on('error', (error: Error) => context.logger.warn({ err: error }, 'revocation subscriber error'));
  // The cache drops the id (and everything after a resubscribe); then the live connection goes.
  await context.keyCache.listen(subscriber, (deviceId) => {
    const client = liveClients(context.aedes)[deviceId];
    const session = client ? context.sessions.get(client) : undefined;
    if (client && session?.identity.kind === 'device') {
      context.logger.info({ clientId: deviceId }, 'revoked device disconnected');
      client.close();
    }
  });
  return {
    close: async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
