// `error` listeners for ioredis connections. Without one, ioredis prints "[ioredis] Unhandled
// error event" with a stack for every reconnect attempt. Here all connections of a process share
// one episode: the first connection error logs one warning, reconnect errors are counted (with
// a reminder now and then), and one line says when every failing connection is back.
import { Cluster, type Redis } from 'ioredis';

type Client = Redis | Cluster;
import { EpisodeLog } from '../runtime/episode-log.js';
import { createLogger, type Logger } from '../runtime/logger.js';

class ConnectionOutage {
  private readonly failing = new Set<Client>();
  readonly episode: EpisodeLog;

  constructor(logger: Logger) {
    this.episode = new EpisodeLog(logger, 'Redis connection');
  }

  error(client: Client, name: string, error: Error, node?: string): void {
    this.failing.add(client);
    this.episode.failed(error, { client: name, ...where(client, node), code: (error as NodeJS.ErrnoException).code, connections: this.failing.size });
  }

  back(client: Client): void {
    if (!this.failing.delete(client)) return;
    if (this.failing.size === 0) this.episode.recovered();
  }
}

/** host and port of a single Redis; for a Cluster, the failing node's `host:port` when known. */
function where(client: Client, node: string | undefined): Record<string, unknown> {
  if (!(client instanceof Cluster)) return { host: client.options.host, port: client.options.port };
  return node === undefined ? { cluster: true } : { cluster: true, node };
}

const byLogger = new WeakMap<Logger, ConnectionOutage>();
let defaultLogger: Logger | undefined;

function outageFor(logger: Logger | undefined): ConnectionOutage {
  const key = logger ?? (defaultLogger ??= createLogger('redis'));
  let outage = byLogger.get(key);
  if (!outage) byLogger.set(key, (outage = new ConnectionOutage(key)));
  return outage;
}

const WATCHED = Symbol('fleet-ota.redis-watched');

/**
 * Adds the listeners to `client` and makes its duplicate() do the same (BullMQ and the
 * orchestrator duplicate connections). Returns the client. A Cluster reports a node's failures
 * as `node error` (it reconnects and re-routes by itself) and its own as `error`: both count.
 */
export function watchRedisErrors<C extends Client>(client: C, name: string, logger?: Logger): C {
  const marked = client as C & { [WATCHED]?: true };
  if (marked[WATCHED]) return client;
  marked[WATCHED] = true;
  const outage = outageFor(logger);
  client.on('error', (error: Error) => outage.error(client, name, error));
  if (client instanceof Cluster) client.on('node error', (error: Error, node?: string) => outage.error(client, name, error, node));
  client.on('ready', () => outage.back(client));
  // A connection closed on purpose (quit) is no longer failing.
  client.on('end', () => outage.back(client));
  const duplicate = (client.duplicate as (...args: unknown[]) => C).bind(client);
  (client as unknown as { duplicate: (...args: unknown[]) => C }).duplicate = (...args: unknown[]) => watchRedisErrors(duplicate(...args), name, logger);
  return client;
}
