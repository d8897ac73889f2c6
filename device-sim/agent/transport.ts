// The device's link to the broker, as the agent needs it: directives in, status reports out.
// Production adapter: mqtt-transport.ts (MQTT.js). Unit tests use an in-memory fake.

export interface TransportHandlers {
  /** A message arrived on the device's directive topic (raw bytes, unchecked). */
  onDirective(bytes: Uint8Array): void;
  /** Connected and subscribed: queued reports may be sent. */
  onConnected(): void;
  onDisconnected(): void;
}

export interface Transport {
  /** Begins connecting (and reconnecting) in the background. */
  start(handlers: TransportHandlers): void;
  readonly connected: boolean;
  /** Publishes one status report at QoS 1; resolves on PUBACK, rejects (AgentError) if it cannot. */
  publishStatus(bytes: Uint8Array): Promise<void>;
  /** Leaves cleanly: presence `offline` (retained), DISCONNECT, no reconnect. */
  stop(): Promise<void>;
}
