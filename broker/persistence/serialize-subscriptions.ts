// Lets aedes-persistence-redis take several filters in one SUBSCRIBE, and overlapping
// subscription changes of one client, without losing a SUBACK. Wraps the persistence in place.
//
// Why: Aedes 1.2 (lib/handlers/subscribe.js, storeSubscriptions) calls
// persistence.addSubscriptions(client, packet.subscriptions) once per filter of a SUBSCRIBE on a
// persistent session, concurrently, each time with the packet's whole list. aedes-persistence's
// BroadcastPersistence (broadcastPersistence.js, used by aedes-persistence-redis) then waits for
// its own `$SYS/sub/add` echo in a Map keyed by client id + first topic: the second call replaces
// the first call's waiter, the first never resolves and the client gets no SUBACK (fleet-ota
// `serve` stuck at `starting`). removeSubscriptions waits the same way (`unsub_` + first topic).
// Here each client's changes run one after another, so at most one waiter per client exists at
// a time, and a call repeating the very list already pending (the same SUBSCRIBE's other filters)
// shares that call's result instead of storing and broadcasting it again.
interface ClientRef {
  id: string;
}

interface SubscriptionStore {
  addSubscriptions(client: ClientRef, subs: unknown[]): Promise<unknown>;
  removeSubscriptions(client: ClientRef, topics: string[]): Promise<unknown>;
}

const ignore = (): void => undefined;

/**
 * `persistence` is what Aedes is given; a CallBackPersistence (aedes-persistence-redis' export)
 * is unwrapped to its async instance, whose own cleanSubscriptions calls removeSubscriptions
 * on itself and must go through the queue too.
 */
export function serializeSubscriptionChanges(persistence: object): void {
  const target = ((persistence as { asyncPersistence?: object }).asyncPersistence ?? persistence) as SubscriptionStore;
  const add = target.addSubscriptions.bind(target);
  const remove = target.removeSubscriptions.bind(target);
  const tails = new Map<string, Promise<void>>();
  const pendingAdds = new Map<string, { subs: unknown[]; result: Promise<unknown> }>();

  function enqueue<T>(clientId: string, run: () => Promise<T>): Promise<T> {
    const previous = tails.get(clientId) ?? Promise.resolve();
    const result = previous.then(run);
    const tail = result.then(ignore, ignore);
    tails.set(clientId, tail);
    void tail.then(() => {
      if (tails.get(clientId) === tail) tails.delete(clientId);
    });
    return result;
  }

  target.addSubscriptions = (client, subs) => {
    const pending = pendingAdds.get(client.id);
    if (pending && pending.subs === subs) return pending.result;
    const entry = { subs, result: enqueue(client.id, () => add(client, subs)) };
    pendingAdds.set(client.id, entry);
    void entry.result.then(ignore, ignore).then(() => {
      if (pendingAdds.get(client.id) === entry) pendingAdds.delete(client.id);
    });
    return entry.result;
  };
  target.removeSubscriptions = (client, topics) => enqueue(client.id, () => remove(client, topics));
}
