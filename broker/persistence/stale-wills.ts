// Publishes, at the start of a single (non-clustered) node, the wills its previous run left in
// the Redis persistence: those devices lost their connection when that run died (devices
// `offline`, retained). Without it, Aedes would publish them only when its periodic sweep notices
// the old broker id is gone (4 heartbeats later), by then after many of those devices have
// reconnected and said `online`: a false `offline` that stays. Here they go out before the
// listener accepts anyone, so a reconnecting device's `online` always comes after.
// Clustered nodes leave wills to Aedes: another node may hold the device by now.
import type { Aedes } from 'aedes';

interface StoredWill {
  clientId: string;
  brokerId: string;
  topic: string;
  payload: Buffer;
  qos: 0 | 1 | 2;
  retain: boolean;
}

interface WillStore {
  streamWill(brokers?: Record<string, number>): AsyncIterable<StoredWill>;
  delWill(client: { id: string; brokerId: string }): Promise<unknown>;
}

/** Returns how many wills were published. */
export async function publishStaleWills(aedes: Aedes, persistence: object): Promise<number> {
  const store = persistence as WillStore;
  const stale: StoredWill[] = [];
  // streamWill skips the broker ids given: none here, every stored will is from a run that ended.
  for await (const will of store.streamWill({})) stale.push(will);
  for (const will of stale) {
    await new Promise<void>((resolve, reject) => {
      aedes.publish({ cmd: 'publish', topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain, dup: false }, (error) => (error ? reject(error) : resolve()));
    });
    await store.delWill({ id: will.clientId, brokerId: will.brokerId });
  }
  return stale.length;
}
