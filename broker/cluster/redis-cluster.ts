// Clustering over Redis (docs/design.md#scale): mqemitter-redis carries every message between
// broker nodes and aedes-persistence-redis holds retained messages, sessions and wills, so N
// nodes behind a TCP load balancer act as one. Neither library takes a key prefix, so both are
// namespaced here under `${keyPrefix}mqtt:`: persistence keys through ioredis' keyPrefix, and
// pub/sub channel names by prefixing what mqemitter-redis subscribes and publishes. Deployments
// (and test runs) sharing one Redis then never see each other's messages or sessions.
import { Redis } from 'ioredis';
import mqemitterRedis from 'mqemitter-redis';
import aedesPersistenceRedis from 'aedes-persistence-redis';

export interface ClusterBackends {
  /** For Aedes' `mq` and `persistence` options. */
  mq: unknown;
  persistence: unknown;
  /** Releases the persistence connection (Aedes closes `mq` itself). */
  close(): Promise<void>;
}

interface MqEmitterRedisInternals {
  pubConn: { publish(channel: string, message: Buffer): Promise<number> };
  _subTopic(topic: string): string;
}

export function mqttNamespace(keyPrefix: string): string {
  return `${keyPrefix}mqtt:`;
}

export function createRedisCluster(redisUrl: string, keyPrefix: string): ClusterBackends {
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

  const conn = new Redis(redisUrl, { keyPrefix: namespace, maxRetriesPerRequest: null });
  const persistence = aedesPersistenceRedis({ conn });
  let closed = false;
  return {
    mq,
    persistence,
    close: async () => {
      if (closed) return;
      closed = true;
      await persistence.destroy().catch(() => conn.disconnect());
    },
  };
}
