// Last wills per broker run (state/mqtt-wills), in place of aedes-persistence-redis' will list,
// and the sweep that publishes the wills of runs that died. docs/design.md#broker-wills.
//
// Why not Aedes' own sweep: it counts a node alive only once it has seen that node's `$SYS`
// heartbeat (every 60 s), so a peer sweeping in a restarted node's first minute published that
// node's fresh wills (its live devices shown `offline`); a node restarted under the same id never
// had its previous run's wills published; and the library's list costs an O(N) LREM per connect
// and its sweep read only the first 10,000 wills. Here each process run has its own id and a
// lease in Redis, renewed well before it runs out; a connect overrides whatever will an earlier
// connection of the client left anywhere (so the wills of devices that came back vanish), and a
// sweep publishes, once across nodes, the wills whose run's lease has run out.
import { randomBytes } from 'node:crypto';
import { decodeWill, WillStore, type StoredWill } from '../../state/mqtt-wills/index.js';
import type { RedisClient as Redis } from '../../state/redis.js';

export interface NodeWillsOptions {
  /** A run whose lease is not renewed for this long is dead and its wills get published. */
  leaseMs: number;
  /** Wills read per HSCAN page while sweeping. */
  sweepPageSize: number;
  onError(error: Error): void;
}

/** How a will reaches the devices' subscribers (authorize, then publish); set by the broker. */
export interface WillPublisher {
  publish(will: StoredWill): Promise<void>;
  /**
   * `clientId` connected again (on a live run) while its orphaned will was being published: its
   * `online` may have gone out before that `offline`, so it is said again.
   */
  reconnected(clientId: string): Promise<void>;
  /** This run's lease had lapsed (Redis unreachable that long): peers may have published its wills. */
  leaseLapsed(): Promise<void>;
}

interface WillPacket {
  topic: string;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
}

interface ClientLike {
  id: string;
}

interface AsyncWillMethods {
  putWill(client: ClientLike, packet: WillPacket): Promise<void>;
  getWill(client: ClientLike): Promise<unknown>;
  delWill(client: ClientLike): Promise<unknown>;
  streamWill(brokers?: unknown): AsyncIterable<unknown>;
}

function asPacket(will: StoredWill): { clientId: string; brokerId: string; topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean } {
  return { clientId: will.clientId, brokerId: will.run, topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain };
}

export class NodeWills {
  /** This process run's id (hex: never holds the store's `|` separator). */
  readonly run = randomBytes(12).toString('hex');
  private readonly store: WillStore;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;
  private publisher: WillPublisher | undefined;
  private closed = false;

  constructor(redis: Redis, namespace: string, private readonly options: NodeWillsOptions) {
    this.store = new WillStore(redis, namespace);
  }

  /** Replaces the will methods of aedes-persistence-redis (its async instance) with this store's. */
  install(persistence: object): void {
    const target = ((persistence as { asyncPersistence?: object }).asyncPersistence ?? persistence) as AsyncWillMethods;
    target.putWill = (client, packet) => this.put(client.id, packet);
    target.getWill = async (client) => {
      const will = await this.store.get(this.run, client.id);
      return will ? asPacket(will) : null;
    };
    // Aedes calls it at CONNECT (before putWill) and after a connection ends, always for its own
    // connections: only this run's will is removed, never a newer connection's elsewhere.
    target.delWill = async (client) => {
      const will = await this.store.deleteOwn(this.run, client.id);
      return will ? asPacket(will) : null;
    };
    // Aedes' own sweep (every 4 heartbeats) finds nothing: orphans are this class's job.
    target.streamWill = async function* () {};
  }

  /** Stores the will of this run's connection of `clientId`, overriding any earlier connection's. */
  async put(clientId: string, packet: WillPacket): Promise<void> {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload ?? '');
    const qos = packet.qos === 1 || packet.qos === 2 ? packet.qos : 0;
    await this.store.put(this.run, clientId, { topic: packet.topic, payload, qos, retain: packet.retain === true });
  }

  /** First lease (before the listener accepts anyone), then renewed three times per lease. */
  async start(): Promise<void> {
    await this.store.heartbeat(this.run, this.options.leaseMs);
    this.heartbeatTimer = setInterval(() => void this.beat(), Math.max(1, Math.floor(this.options.leaseMs / 3)));
    this.heartbeatTimer.unref();
  }

  private async beat(): Promise<void> {
    try {
      const held = await this.store.heartbeat(this.run, this.options.leaseMs);
      if (!held && !this.closed) await this.publisher?.leaseLapsed();
    } catch (error) {
      this.options.onError(error as Error);
    }
  }

  /** Checks twice per lease for dead runs and publishes their wills (clustered nodes). */
  sweepPeriodically(publisher: WillPublisher): void {
    this.publisher = publisher;
    this.sweepTimer = setInterval(() => {
      this.sweep(publisher).catch((error: Error) => this.options.onError(error));
    }, Math.max(1, Math.floor(this.options.leaseMs / 2)));
    this.sweepTimer.unref();
  }

  /**
   * Publishes every orphaned will once: those of runs whose lease ran out, or (`everyOtherRun`,
   * a single node at start: no other run can be alive) of every run but this one. Without
   * `everyOtherRun`, reads the wills only when some run has died. Returns how many it published.
   */
  sweep(publisher: WillPublisher, options: { everyOtherRun?: boolean } = {}): Promise<number> {
    this.publisher ??= publisher;
    // One sweep at a time per node; a sweep asked for meanwhile is served by the running one.
    return (this.sweeping ??= this.sweepOnce(publisher, options.everyOtherRun === true).finally(() => (this.sweeping = undefined)));
  }

  private async sweepOnce(publisher: WillPublisher, everyOtherRun: boolean): Promise<number> {
    const dead = await this.store.deadRuns();
    if (dead.length === 0 && !everyOtherRun) return 0;
    // Read before the scan: a run that dies during it is swept next time (it stays listed until then).
    const live = everyOtherRun ? new Set([this.run]) : await this.store.liveRuns();
    live.add(this.run);
    let published = 0;
    let cursor = '0';
    do {
      const page = await this.store.scan(cursor, this.options.sweepPageSize);
      cursor = page.cursor;
      const orphans = page.entries.filter(({ clientId, value }) => {
        const will = decodeWill(clientId, value);
        return will !== undefined && !live.has(will.run);
      });
      // Claimed by exactly one node, and only those no newer connection overrode meanwhile.
      const claimed = await this.store.claim(orphans);
      for (const { clientId, value } of claimed) await publisher.publish(decodeWill(clientId, value)!);
      published += claimed.length;
      // A client that connected again (on a live run) while its will went out: say `online` again.
      const ids = claimed.map((c) => c.clientId);
      const current = await this.store.currentRuns(ids);
      if (current.some((run) => run !== undefined)) {
        const liveNow = await this.store.liveRuns();
        liveNow.add(this.run);
        for (let i = 0; i < ids.length; i++) if (current[i] !== undefined && liveNow.has(current[i]!)) await publisher.reconnected(ids[i]!);
      }
    } while (cursor !== '0' && !this.closed);
    if (!this.closed) await this.store.forget(dead.filter((run) => !live.has(run)));
    return published;
  }

  /**
   * Stops the timers and ends this run's lease at once (a clean stop: its connections' wills are
   * deleted by now; any left behind is an orphan for the next sweep).
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.sweepTimer);
    await this.sweeping?.catch(() => undefined);
    await this.store.expire(this.run).catch((error: Error) => this.options.onError(error));
  }
}
