// What REDIS_URL names: one Redis (`redis://`, `rediss://`, as ioredis reads them) or a Redis
// Cluster given by some of its nodes (`redis+cluster://[[user]:password@]host:port[,host:port...]`,
// `rediss+cluster://` for TLS). The cluster form is ours: WHATWG URLs cannot hold several hosts,
// so it is parsed here, and the client discovers the other nodes from the ones named.
// A Cluster has only database 0: a path or query is refused rather than ignored.

import { FleetError } from '../runtime/errors.js';

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | { kind: 'cluster'; nodes: ClusterNodeAddress[]; username?: string; password?: string; tls: boolean };

/** REDIS_URL names nothing this client can honour; the message never echoes a password. */
export class RedisUrlError extends FleetError<'invalid_redis_url'> {
  constructor(message: string) {
    super('invalid_redis_url', message);
  }
}

const CLUSTER_SCHEME = /^(rediss?)\+cluster:\/\/(.*)$/;
/** A host name or IPv4 address (no brackets: IPv6 cluster nodes are not supported here). */
const NODE = /^([A-Za-z0-9.-]{1,253}):(\d{1,5})$/;
/** More startup nodes gain nothing: the client learns every node from the first that answers. */
export const MAX_CLUSTER_STARTUP_NODES = 32;

export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError('REDIS_URL: bad percent-encoding in the credentials');
  }
}

function parseClusterUrl(scheme: string, rest: string): RedisTarget {
  const at = rest.lastIndexOf('@');
  const credentials = at >= 0 ? rest.slice(0, at) : undefined;
  const hostList = (at >= 0 ? rest.slice(at + 1) : rest).replace(/\/$/, '');
  if (/[/?#]/.test(hostList)) throw new RedisUrlError('REDIS_URL: a redis+cluster:// URL has no database, path or query (a cluster has database 0 only)');
  const entries = hostList.split(',');
  if (entries.length > MAX_CLUSTER_STARTUP_NODES) throw new RedisUrlError(`REDIS_URL: at most ${MAX_CLUSTER_STARTUP_NODES} cluster nodes`);
  const nodes = entries.map((entry) => {
    const match = NODE.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65_535) throw new RedisUrlError(`REDIS_URL: "${entry}" is not host:port (redis+cluster://host:port,host:port,...)`);
    return { host: match[1]!, port };
  });
  const target: RedisTarget = { kind: 'cluster', nodes, tls: scheme === 'rediss' };
  if (credentials !== undefined) {
    const colon = credentials.indexOf(':');
    const username = colon >= 0 ? credentials.slice(0, colon) : credentials;
    const password = colon >= 0 ? credentials.slice(colon + 1) : '';
    if (username) target.username = decode(username);
    if (password) target.password = decode(password);
  }
  return target;
}

/** Parses REDIS_URL; throws RedisUrlError naming what is wrong (never echoing a password). */
export function parseRedisUrl(url: string): RedisTarget {
  const cluster = CLUSTER_SCHEME.exec(url);
  if (cluster) return parseClusterUrl(cluster[1]!, cluster[2]!);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError('REDIS_URL: not a URL (redis://, rediss://, redis+cluster:// or rediss+cluster://)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new RedisUrlError('REDIS_URL: the scheme must be redis://, rediss://, redis+cluster:// or rediss+cluster://');
  return { kind: 'single', url };
}

/** The URL without its password, for logs and messages. */
export function redactRedisUrl(url: string): string {
  const cluster = CLUSTER_SCHEME.exec(url);
  if (cluster) {
    const rest = cluster[2]!;
    const at = rest.lastIndexOf('@');
    if (at < 0) return url;
    const credentials = rest.slice(0, at);
    const colon = credentials.indexOf(':');
    const user = colon >= 0 ? credentials.slice(0, colon) : credentials;
    return `${cluster[1]}+cluster://${colon >= 0 ? `${user}:***` : user}@${rest.slice(at + 1)}`;
  }
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable REDIS_URL)';
  }
}
