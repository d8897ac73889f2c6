// Shared assertion of the fault tests: every device's outbox is empty (all it sent was
// acknowledged by the broker), and the orchestrator applied each device's last acknowledged
// report, state and counter, so none of them was lost on the way; the rollout's counts are
// the sum of those states.
import { expect } from 'vitest';
import type { FleetHandle } from '../../../device-sim/sim/index.js';
import type { ProcessStack } from '../../support/process-stack.js';
import type { RolloutView } from '../../../orchestrator/rollouts/model.js';
import type { AckLog } from './ack-log.js';
import { rolloutDevices, tallyStates } from './stack-probes.js';

/** `fleets`: every device of the rollout, in one or more fleets. */
export async function expectAcknowledgedApplied(stack: ProcessStack, rolloutId: string, fleets: readonly FleetHandle[], acks: AckLog, view: RolloutView): Promise<void> {
  const runtimes = fleets.flatMap((fleet) => fleet.runtimes);
  for (const runtime of runtimes) expect({ id: runtime.id, outbox: runtime.agent.snapshot().outbox.length }).toEqual({ id: runtime.id, outbox: 0 });
  const entries = await rolloutDevices(stack.api, rolloutId);
  expect(entries.size).toBe(runtimes.length);
  for (const runtime of runtimes) {
    const acked = acks.last(runtime.id, rolloutId);
    const entry = entries.get(runtime.id)!;
    expect({ id: runtime.id, state: entry.state, counter: entry.counter }).toEqual({ id: runtime.id, state: acked?.state, counter: acked?.counter });
  }
  expect(tallyStates(entries.values())).toEqual(view.counts);
}
