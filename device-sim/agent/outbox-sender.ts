// Sends the record's outbox (docs/protocol.md#status-report: status reports, QoS 1) oldest first, one at a time,
// and has each removed only once the broker acknowledged it. It does not build or persist
// reports: the agent appends them (persisted before sending) and removes acknowledged ones.
import type { OutboxEntry } from './device-state.js';
import type { Transport } from './transport.js';

export interface OutboxHost {
  readonly transport: Transport;
  /** The current head of the outbox, if any. */
  head(): OutboxEntry | undefined;
  /** Removes an acknowledged entry and persists; rejects once the agent stopped. */
  acknowledged(seq: number): Promise<void>;
  stopped(): boolean;
  /** After an unacknowledged publish on a live connection, retry this soon. */
  readonly retryMs: number;
}

export class OutboxSender {
  private running = false;
  private again = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(private readonly host: OutboxHost) {}

  /** Starts sending if idle; if busy, makes the running loop look again when it finishes. */
  wake(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
    });
  }

  stop(): void {
    clearTimeout(this.retryTimer);
  }

  private async drain(): Promise<void> {
    const { host } = this;
    do {
      this.again = false;
      while (!host.stopped() && host.transport.connected) {
        const head = host.head();
        if (!head) break;
        try {
          // One encode per send: a Buffer is the bytes the transport hands MQTT.js as they are.
          await host.transport.publishStatus(Buffer.from(head.body, 'utf8'));
        } catch {
          // Not acknowledged: it stays queued; retried on the next connect, or soon if still up.
          if (!host.stopped() && host.transport.connected) {
            clearTimeout(this.retryTimer);
            this.retryTimer = setTimeout(() => this.wake(), host.retryMs);
            this.retryTimer.unref();
          }
          return;
        }
        if (host.stopped()) return;
        try {
          await host.acknowledged(head.seq);
        } catch {
          return;
        }
      }
    } while (this.again && !host.stopped());
  }
}
