// BullMQ workers emit `error` on every failed poll: with Redis out of memory or away, that is
// hundreds of lines a second. Here each worker logs once per episode (EpisodeLog): the first
// error, a reminder now and then, and a line with the count once it has been quiet a while.
import type { Worker } from 'bullmq';
import { EpisodeLog } from '../../runtime/episode-log.js';
import type { Logger } from '../../runtime/logger.js';

/**
 * A worker that emitted no error for this long is taken to have recovered. An idle worker
 * polls seldom (one error per poll), so shorter would split one outage into many episodes.
 */
export const WORKER_ERROR_QUIET_MS = 30_000;

/** Adds the `error` listener; returns a function that removes it and stops the quiet timer. */
export function logWorkerErrors(worker: Worker, logger: Logger, quietMs = WORKER_ERROR_QUIET_MS): () => void {
  const episode = new EpisodeLog(logger, `BullMQ worker ${worker.name}`, { quietMs });
  const onError = (error: Error) => episode.failed(error, { queue: worker.name });
  worker.on('error', onError);
  return () => {
    worker.off('error', onError);
    episode.close();
  };
}
