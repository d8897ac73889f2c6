// Separates "read the next message" from "acknowledge this one" on an MQTT.js client, so the
// intake can take in many reports, write them to Redis in one batch, and only then send their
// PUBACKs. MQTT.js couples the two: a QoS 1 PUBACK goes out when `handleMessage` calls back,
// and the next packet is read only after that. This is the one place that knows how.
//
// MQTT.js internals relied on (mqtt 5.16, lib/handlers/publish.js and lib/client.js; the
// intake tests fail if they change):
// - `handleMessage(packet, cb)`: `cb(error)` sends no PUBACK and moves on to the next packet;
// - `_sendPacket({ cmd: 'puback', messageId })` writes a PUBACK on the current connection;
// - `client.stream` is replaced on every reconnect.
import type { IPublishPacket, MqttClient } from 'mqtt';

/** Passed to MQTT.js' callback: "no PUBACK now, read on"; the PUBACK follows from `ack()`. */
const ACK_DEFERRED = Object.freeze(new Error('PUBACK deferred until the report is durable'));

export interface DeferredMessage {
  packet: IPublishPacket;
  /**
   * Sends this message's PUBACK, if the connection it came in on is still the current one
   * (a PUBACK on a later connection could acknowledge another message that reuses the packet
   * id; the broker resends the message itself instead). Returns whether it was sent.
   */
  ack(): boolean;
}

export interface DeferredAckHandler {
  /** Takes a message; its PUBACK is sent when the handler calls `ack()`. */
  take(message: DeferredMessage): void;
  /** Resolves when the handler can take more: MQTT.js reads nothing from the broker meanwhile. */
  room(): Promise<void> | undefined;
}

interface PubackWriter {
  connected: boolean;
  stream: unknown;
  _sendPacket(packet: { cmd: 'puback'; messageId: number }): void;
}

export function installDeferredAcks(client: MqttClient, handler: DeferredAckHandler): void {
  const writer = client as unknown as PubackWriter;
  client.handleMessage = (packet, callback) => {
    if (packet.cmd !== 'publish') return callback();
    const stream = writer.stream;
    const { messageId, qos } = packet;
    let acked = false;
    const ack = () => {
      if (acked || qos === 0 || messageId === undefined) return false;
      if (!writer.connected || writer.stream !== stream) return false;
      acked = true;
      writer._sendPacket({ cmd: 'puback', messageId });
      return true;
    };
    if (qos === 2) {
      // The intake subscribes at QoS 1, so the broker never sends QoS 2; should one come, it is
      // acknowledged the plain way (MQTT.js' PUBREC once the write is done), one at a time.
      handler.take({ packet, ack: () => (acked ? false : ((acked = true), callback(), true)) });
      return;
    }
    handler.take({ packet, ack });
    const waiting = handler.room();
    if (waiting) void waiting.then(() => callback(qos === 1 ? ACK_DEFERRED : undefined));
    else callback(qos === 1 ? ACK_DEFERRED : undefined);
  };
}
