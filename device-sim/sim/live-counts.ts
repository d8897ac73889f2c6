// One line of live per-state counts, in the order a device moves through the states.
import { REPORTED_STATES } from '../../protocol/index.js';
import type { FleetState } from './connect.js';

const ORDER: readonly FleetState[] = ['idle', ...REPORTED_STATES];

export function formatCounts(counts: Partial<Record<FleetState, number>>, connected: number, total: number): string {
  const parts = ORDER.filter((state) => (counts[state] ?? 0) > 0).map((state) => `${state} ${counts[state]}`);
  return `connected ${connected}/${total} | ${parts.join(' · ') || 'no devices'}`;
}
