// Revocation: the orchestrator publishes a revoked device id on the registry's pub/sub channel;
// every broker node drops that id from its key cache and closes the device's live connection.
// Uses its own Redis connection (a subscribed connection can run no other command).
import type { Redis } from 'ioredis';
import { isDeviceId } from '../../protocol/index.js';
import { registryKeys } from '../../state/device-record.js';
import { liveClients, type AdapterContext } from './context.js';

export interface RevocationListener {
  close(): Promise<void>;
}

export async function listenForRevocations(context: AdapterContext, subscriber: Redis): Promise<RevocationListener> {
  const channel = registryKeys(context.config.keyPrefix).revokedChannel;
  let ready = false;
  subscriber.on('message', (from: string, message: string) => {
    if (from !== channel || !isDeviceId(message)) return;
    context.keyCache.invalidate(message);
    const client = liveClients(context.aedes)[message];
    const session = client ? context.sessions.get(client) : undefined;
    if (client && session?.identity.kind === 'device') {
      context.logger.info({ clientId: message }, 'revoked device disconnected');
      client.close();
    }
  });
  // Revocations published while the subscription was down were missed: forget every cached key.
  subscriber.on('ready', () => {
    if (ready) context.keyCache.clear();
    ready = true;
  });
  subscriber.on('error', (error: Error) => context.logger.warn({ err: error }, 'revocation subscriber error'));
  await subscriber.subscribe(channel);
  ready = true;
  return {
    close: async () => {
      await subscriber.quit().catch(() => subscriber.disconnect());
    },
  };
}
