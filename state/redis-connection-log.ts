// `error` listeners for ioredis connections. Without one, ioredis prints "[ioredis] Unhandled
// error event" with a stack for every reconnect attempt. Here all connections of a process share
// one episode: the first connection error logs one warning, reconnect errors are counted (with
// a reminder now and then), and one line says when every failing connection is back.
import type { Redis } from 'ioredis';
import { EpisodeLog } from '../runtime/episode-log.js';
import { createLogger, type Logger } from '../runtime/logger.js';

class ConnectionOutage {
  private readonly failing = new Set<Redis>();
  readonly episode: EpisodeLog;

  constructor(logger: Logger) {
    this.episode = new EpisodeLog(logger, 'Redis connection');
  }

  error(client: Redis, name: string, error: Error): void {
    this.failing.add(client);
    const { host, port } = client.options;
    this.episode.failed(error, { client: name, host, port, code: (error as NodeJS.ErrnoException).code, connections: this.failing.size });
  }

  back(client: Redis): void {
    if (!this.failing.delete(client)) return;
    if (this.failing.size === 0) this.episode.recovered();
  }
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
 * orchestrator duplicate connections). Returns the client.
 */
export function watchRedisErrors(client: Redis, name: string, logger?: Logger): Redis {
  const marked = client as Redis & { [WATCHED]?: true };
  if (marked[WATCHED]) return client;
  marked[WATCHED] = true;
  const outage = outageFor(logger);
  client.on('error', (error: Error) => outage.error(client, name, error));
  client.on('ready', () => outage.back(client));
  // A connection closed on purpose (quit) is no longer failing.
  client.on('end', () => outage.back(client));
  const duplicate = client.duplicate.bind(client);
  client.duplicate = ((override?: Parameters<Redis['duplicate']>[0]) => watchRedisErrors(duplicate(override), name, logger)) as Redis['duplicate'];
  return client;
}
