// Clustering over Redis (DESIGN.md: Scale): mqemitter-redis carries every message between
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
  const mq = mqemitterRedis({ connectionString: redisUrl });
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
