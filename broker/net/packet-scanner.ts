// Streaming scanner of MQTT fixed headers (MQTT 3.1.1 §2.2) that sees every byte before Aedes
// does, so an oversized or malformed packet is refused as soon as its Remaining Length is read,
// without buffering its body. Aedes 1.2.0's parser (mqtt-packet) has no maximum packet size
// (aedes #831) and buffers up to the 256 MB the encoding allows (aedes #324, #612, #1086).
// Counts only; it never copies or parses payloads.

export type ScanResult = { ok: true } | { ok: false; reason: 'packet_too_large' | 'malformed_packet' };

const CONNECT = 1;
const OK: ScanResult = { ok: true };

export class PacketScanner {
  private state: 'type' | 'length' | 'body' = 'type';
  private packetType = 0;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;
  private first = true;
  private failed: ScanResult | undefined;
  packets = 0;

  /** `maxPacketBytes` counts the whole packet: fixed header plus Remaining Length. */
  constructor(private maxPacketBytes: number) {}

  /** Tightens or widens the limit once the connection's identity is known. */
  setMaxPacketBytes(bytes: number): void {
    this.maxPacketBytes = bytes;
  }

  /** Feeds the next bytes of the stream; once a result is not ok, it stays not ok. */
  feed(chunk: Uint8Array): ScanResult {
    if (this.failed) return this.failed;
    let i = 0;
    while (i < chunk.length) {
      if (this.state === 'type') {
        const byte = chunk[i++]!;
        this.packetType = byte >> 4;
        // Types 0 and 15 are reserved in MQTT 3.1.1; [MQTT-3.1.0-1]: CONNECT comes first.
        if (this.packetType === 0 || this.packetType === 15 || (this.first && this.packetType !== CONNECT)) {
          return this.fail('malformed_packet');
        }
        this.first = false;
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
      } else if (this.state === 'length') {
        const byte = chunk[i++]!;
        this.length += (byte & 0x7f) * this.multiplier;
        this.multiplier *= 128;
        this.lengthBytes++;
        if (byte & 0x80) {
          // §2.2.3: at most four bytes of Remaining Length.
          if (this.lengthBytes >= 4) return this.fail('malformed_packet');
          continue;
        }
        if (1 + this.lengthBytes + this.length > this.maxPacketBytes) return this.fail('packet_too_large');
        this.packets++;
        this.remaining = this.length;
        this.state = this.remaining === 0 ? 'type' : 'body';
      } else {
        const take = Math.min(this.remaining, chunk.length - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'type';
      }
    }
    return OK;
  }

  private fail(reason: 'packet_too_large' | 'malformed_packet'): ScanResult {
    this.failed = { ok: false, reason };
    return this.failed;
  }
}
