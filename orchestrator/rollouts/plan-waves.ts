// Deterministic wave assignment: the same rollout id and target always give the same waves,
// and the result is recorded in Redis at creation, so a restart never reshuffles devices.
import { createHash } from 'node:crypto';
import { RolloutError } from './errors.js';
import type { WaveSpec } from './spec.js';

/** Order devices by a hash of (rolloutId, deviceId): spread across the fleet, yet reproducible. */
export function shuffleForRollout(rolloutId: string, deviceIds: readonly string[]): string[] {
  const keyed = deviceIds.map((id) => ({ id, key: createHash('sha256').update(rolloutId).update('\0').update(id).digest('hex') }));
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return keyed.map((k) => k.id);
}


/**
 * Splits `targets` into waves. Canary waves (`deviceIds`) take exactly their devices (which must
 * be targets); percentages are cumulative over the whole target; counts take that many of the
 * rest. Devices left after the last wave are in no wave: spec.ts admits that only with
 * holdRemainder (otherwise the last wave is 100% and nothing is left).
 */
export function planWaves(rolloutId: string, targets: readonly string[], waves: readonly WaveSpec[]): string[][] {
  const targetSet = new Set(targets);
  const canaries = new Set<string>();
  for (const wave of waves) {
    for (const id of wave.deviceIds ?? []) {
      if (!targetSet.has(id)) throw new RolloutError('invalid_waves', `canary ${id} is not in the rollout's target`);
      canaries.add(id);
    }
  }
  const rest = shuffleForRollout(rolloutId, targets.filter((id) => !canaries.has(id)));
  const total = targets.length;
  const assigned: string[][] = [];
  let taken = 0; // devices assigned so far, canaries included
  let cursor = 0; // position in `rest`
  for (const wave of waves) {
    let members: string[];
    if (wave.deviceIds) {
      members = [...new Set(wave.deviceIds)];
    } else if (wave.count !== undefined) {
      members = rest.slice(cursor, cursor + wave.count);
    } else {
      const percent = wave.percent ?? 100;
      const goal = Math.min(total, Math.max(Math.ceil((total * percent) / 100), taken + (percent > 0 ? 1 : 0)));
      members = rest.slice(cursor, cursor + Math.max(0, goal - taken));
    }
    if (!wave.deviceIds) cursor += members.length;
    taken += members.length;
    assigned.push(members);
  }
  return assigned;
}
