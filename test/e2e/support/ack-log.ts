// The reports each simulated device had acknowledged by the broker (PUBACK received), as the
// device saw it, for comparison with what the orchestrator applied. Wraps each device's
// transport; changes nothing it forwards.
import { parseStatusReport, type StatusSigned } from '../../../protocol/index.js';
import type { FleetHandle } from '../../../device-sim/sim/index.js';

export class AckLog {
  private readonly byDevice = new Map<string, StatusSigned[]>();

  /** Records every report of `fleet` acknowledged from now on; returns the fleet for chaining. */
  attach(fleet: FleetHandle): FleetHandle {
    for (const runtime of fleet.runtimes) {
      const transport = runtime.transport;
      const publish = transport.publishStatus.bind(transport);
      transport.publishStatus = async (bytes: Uint8Array) => {
        await publish(bytes);
        const parsed = parseStatusReport(bytes);
        if (!parsed.ok) throw new Error(`device ${runtime.id} sent an unreadable report: ${parsed.refusal}`);
        let list = this.byDevice.get(runtime.id);
        if (!list) this.byDevice.set(runtime.id, (list = []));
        list.push(parsed.envelope.signed);
      };
    }
    return fleet;
  }

  /** The last report of `deviceId` for `rolloutId` the broker acknowledged. */
  last(deviceId: string, rolloutId: string): StatusSigned | undefined {
    return (this.byDevice.get(deviceId) ?? []).filter((r) => r.rolloutId === rolloutId).at(-1);
  }

  /** Acknowledged reports of `deviceIds` for `rolloutId`. */
  count(rolloutId: string, deviceIds: readonly string[]): number {
    return deviceIds.reduce((n, id) => n + (this.byDevice.get(id) ?? []).filter((r) => r.rolloutId === rolloutId).length, 0);
  }
}
