// Polls a rollout over the API until a condition holds: the local stack (demo, integration tests,
// benchmarks) and the process stack (end-to-end tests) share it. Polling, not /v1/events: the
// caller's condition may be about any field of the view. An orchestrator that cannot be reached
// (being restarted) is polled again until the deadline; any refusal fails at once.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiCallError, type JsonCall } from '../../api-client/index.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';

/** Between two reads of the rollout. */
export const ROLLOUT_POLL_MS = 100;

/**
 * Resolves with the first view of rollout `id` for which `done` holds; throws after `timeoutMs`
 * with the last view's status and counts. `api` is called anew on each read (a restarted
 * orchestrator may have a new client).
 */
export async function waitForRollout(api: () => JsonCall, id: string, done: (view: RolloutView) => boolean, timeoutMs: number): Promise<RolloutView> {
  const deadline = Date.now() + timeoutMs;
  let view: RolloutView | undefined;
  let unreachable: ApiCallError | undefined;
  for (;;) {
    try {
      view = await api()<RolloutView>('GET', `/v1/rollouts/${encodeURIComponent(id)}`);
      unreachable = undefined;
      if (done(view)) return view;
    } catch (error) {
      if (!(error instanceof ApiCallError && error.kind === 'unreachable')) throw error;
      unreachable = error;
    }
    if (Date.now() > deadline) {
      const last = view && { status: view.status, reason: view.statusReason, counts: view.counts, waves: view.waves.map((w) => [w.status, w.counts]) };
      throw new Error(`rollout ${id} did not reach the expected state in ${timeoutMs} ms: ${JSON.stringify(last)}${unreachable ? ` (last read: ${unreachable.message})` : ''}`);
    }
    await sleep(ROLLOUT_POLL_MS);
  }
}
