// Every status report the simulated devices sign, as they sent them (the devices' side of the
// story), so a test compares it with what the orchestrator counted. No I/O of its own.
import type { ReportedState, StatusSigned } from '../../../protocol/index.js';
import type { FleetHandle, FleetReport } from '../../../device-sim/sim/index.js';

export class ReportLog {
  private readonly byDevice = new Map<string, StatusSigned[]>();
  private readonly unsubscribers: Array<() => void> = [];

  /** Records one report; pass it as connectFleet's `onReport` to hear a fleet from its first report. */
  readonly record = ({ deviceId, report }: FleetReport): void => {
    let list = this.byDevice.get(deviceId);
    if (!list) this.byDevice.set(deviceId, (list = []));
    list.push(report);
  };

  /** Records every report of `fleet` from now on; returns the fleet for chaining. */
  attach(fleet: FleetHandle): FleetHandle {
    this.unsubscribers.push(fleet.onReport(this.record));
    return fleet;
  }

  detach(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }

  /** The reports `deviceId` sent for `rolloutId` (all rollouts when omitted), in order. */
  of(deviceId: string, rolloutId?: string): StatusSigned[] {
    const all = this.byDevice.get(deviceId) ?? [];
    return rolloutId === undefined ? all : all.filter((r) => r.rolloutId === rolloutId);
  }

  last(deviceId: string, rolloutId: string): StatusSigned | undefined {
    return this.of(deviceId, rolloutId).at(-1);
  }

  /** Devices that sent anything for `rolloutId`. */
  devicesReporting(rolloutId: string): string[] {
    return [...this.byDevice.keys()].filter((id) => this.of(id, rolloutId).length > 0);
  }

  /** How many of `deviceIds` last reported each state for `rolloutId` (`none`: nothing sent). */
  lastStates(rolloutId: string, deviceIds: readonly string[]): Partial<Record<ReportedState | 'none', number>> {
    const tally: Partial<Record<ReportedState | 'none', number>> = {};
    for (const id of deviceIds) {
      const state = this.last(id, rolloutId)?.state ?? 'none';
      tally[state] = (tally[state] ?? 0) + 1;
    }
    return tally;
  }

  /** Reason codes of the devices whose last report for `rolloutId` carries one. */
  lastReasons(rolloutId: string, deviceIds: readonly string[]): Record<string, number> {
    const tally: Record<string, number> = {};
    for (const id of deviceIds) {
      const reason = this.last(id, rolloutId)?.reason;
      if (reason !== undefined) tally[reason] = (tally[reason] ?? 0) + 1;
    }
    return tally;
  }

  /** Number of reports in `state` across all devices and rollouts. */
  countState(state: ReportedState, rolloutId?: string): number {
    let n = 0;
    for (const id of this.byDevice.keys()) n += this.of(id, rolloutId).filter((r) => r.state === state).length;
    return n;
  }
}
