// Clustering over Redis (docs/design.md#scale): mqemitter-redis carries every message between
// broker nodes, and the Redis persistence every node uses anyway (persistence/redis-persistence.ts)
// holds retained messages, sessions and wills, so N nodes behind a TCP load balancer act as one.
// mqemitter-redis takes no key prefix: its pub/sub channel names are put under
// `${keyPrefix}mqtt:` here by prefixing what it subscribes and publishes, so deployments (and test
// runs) sharing one Redis never see each other's messages.
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import { mqttNamespace } from '../persistence/redis-persistence.js';

interface MqEmitterRedisInternals {
  pubConn: { publish(channel: string, message: Buffer): Promise<number> };
  _subTopic(topic: string): string;
}

/** An emitter for Aedes' `mq` option (Aedes closes it). */
export function createRedisEmitter(redisUrl: string, keyPrefix: string): unknown {
  const namespace = mqttNamespace(keyPrefix);
  // Our own ioredis 6 connections rather than the 5.x that mqemitter-redis bundles: 5.8.2+
  // races a SUBSCRIBE sent while connecting with its ready check and throws "Connection in
  // subscriber mode" (ioredis #2037, fixed in 6.0), which left a node deaf to its peers.
  const subConn = new Redis(redisUrl, { maxRetriesPerRequest: null, enableReadyCheck: false });
  const ownPubConn = new Redis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  const mq = mqemitterRedis({ subConn, pubConn: ownPubConn } as unknown as Parameters<typeof mqemitterRedis>[0]);
  const internals = mq as unknown as MqEmitterRedisInternals;
  // mqemitter-redis 7.2: channels are the MQTT topic (wildcards turned into glob `*`); the
  // message itself carries the topic, so only the channel names need the namespace.
  const subTopic = internals._subTopic.bind(mq);
  internals._subTopic = (topic: string) => namespace + subTopic(topic);
  const pubConn = internals.pubConn;
  const publish = pubConn.publish.bind(pubConn);
  pubConn.publish = (channel: string, message: Buffer) => publish(namespace + channel, message);
  return mq;
}
