// Redis's own CPU, from INFO CPU (used_cpu_sys + used_cpu_user of the server process, all its
// threads). On a private redis-server that is the benchmark's; on a shared one, a delta that
// also counts everyone else's commands, so the bench says which it measured.
import type { RedisClient as Redis } from '../../state/redis.js';

export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}
