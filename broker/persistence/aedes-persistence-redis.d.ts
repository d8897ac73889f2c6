// Minimal typing for aedes-persistence-redis 11 (it ships none): the factory and the options used here.
declare module 'aedes-persistence-redis' {
  import type { RedisClient as Redis } from '../../state/redis.js';
  interface AedesPersistenceRedisOptions {
    conn?: Redis;
    maxSessionDelivery?: number;
    packetTTL?: (packet: unknown) => number;
  }
  interface AedesPersistenceRedis {
    destroy(): Promise<void>;
  }
  function aedesPersistenceRedis(options?: AedesPersistenceRedisOptions): AedesPersistenceRedis;
  export default aedesPersistenceRedis;
}
