// BullMQ queue depths of the rollout engine (notify, control, cancel), read with
// Queue.getJobCounts() at scrape time: the queues are shared, so every process sees the same.
import { Queue, type JobType } from 'bullmq';
import type { RedisClient as Redis } from '../../state/redis.js';
import { Gauge, type Registry } from 'prom-client';
import { queuePrefix } from '../../state/rollouts/keys.js';

/** The engine's queues (orchestrator/rollouts/engine.ts), each under its own prefix (state/rollouts/keys.ts: queuePrefix). */
export const ENGINE_QUEUES = ['notify', 'control', 'cancel'] as const;
const JOB_STATES: JobType[] = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed'];

export function registerQueueMetrics(registry: Registry, redis: Redis, prefix: string): { close(): Promise<void> } {
  // A Queue given a connection shares it and leaves it open on close().
  const queues = ENGINE_QUEUES.map((name) => new Queue(name, { connection: redis, prefix: queuePrefix(prefix, name) }));
  new Gauge({
    name: 'fleet_bullmq_jobs',
    help: 'Jobs in the rollout engine\'s BullMQ queues, by queue and job state.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      const counts = await Promise.all(queues.map((q) => q.getJobCounts(...JOB_STATES)));
      queues.forEach((queue, i) => {
        for (const state of JOB_STATES) this.set({ queue: queue.name, state }, counts[i]?.[state] ?? 0);
      });
    },
  });
  return { close: async () => void (await Promise.all(queues.map((q) => q.close()))) };
}
