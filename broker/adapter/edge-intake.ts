// The edge write (FLEET_INTAKE_MODE=edge, the default): the broker appends every status report a
// device publishes to that device's intake shard (state/intake) before the PUBACK goes back, and
// every presence change (the broker's own `online`/`offline`, wills, a device's own) before it is
// delivered. Each report is thereby written once for the whole deployment, however many
// orchestrators read the shards. A write Redis refuses is retried and the report stays
// unacknowledged meanwhile: Aedes reads nothing more from that device until then (backpressure),
// and if the connection drops the device resends the report from its outbox.
import type { Aedes } from 'aedes';
import { parseDeviceTopic } from '../../protocol/index.js';
import type { IntakeWriter } from '../../state/intake/index.js';
import { isDropped } from './context.js';

type Callback = (error?: Error | null) => void;
type PublishFn = (...args: unknown[]) => void;

export function isStatusTopic(topic: string): boolean {
  return parseDeviceTopic(topic)?.kind === 'status';
}

/** Writes an accepted status report, then lets Aedes acknowledge and deliver it (`accepted`). */
export function writeStatusAtEdge(writer: IntakeWriter, packet: { topic: string; payload: Buffer | string }, accepted: Callback): void {
  writer.take({
    topic: packet.topic,
    payload: packet.payload,
    ack: () => {
      accepted(null);
      return true;
    },
  });
}

/**
 * Makes every presence message durable in its shard before Aedes delivers and retains it: wraps
 * `aedes.publish`, the one path broker presence, wills and client publishes all take. Installed
 * after installDropFilter, and a dropped packet is not written.
 */
export function installEdgePresence(aedes: Aedes, writer: IntakeWriter): void {
  const inner = aedes.publish.bind(aedes) as unknown as PublishFn;
  (aedes as unknown as { publish: PublishFn }).publish = (...args: unknown[]) => {
    const packet = args[0] as { topic?: string; payload?: Buffer | string };
    if (typeof packet?.topic !== 'string' || isDropped(packet) || parseDeviceTopic(packet.topic)?.kind !== 'presence') return inner(...args);
    writer.take({
      topic: packet.topic,
      payload: packet.payload ?? Buffer.alloc(0),
      ack: () => {
        inner(...args);
        return true;
      },
    });
  };
}
