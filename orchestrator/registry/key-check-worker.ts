// Worker thread of the key checker: runs protocol's full public key check on batches of
// keys so that ~1 ms of curve arithmetic per key never blocks the HTTP event loop.
import { parentPort } from 'node:worker_threads';
import { isAcceptableWireKey } from './acceptable-key.js';

export interface KeyCheckJob {
  id: number;
  keys: string[];
}

export interface KeyCheckAnswer {
  id: number;
  verdicts: boolean[];
}

parentPort?.on('message', (job: KeyCheckJob) => {
  const answer: KeyCheckAnswer = { id: job.id, verdicts: job.keys.map(isAcceptableWireKey) };
  parentPort?.postMessage(answer);
});
