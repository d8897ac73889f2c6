// The fixed-header scanner: limits on the whole packet size, malformed Remaining Length, and
// the same verdict however the byte stream is split into chunks (property test).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PacketScanner } from '../../../broker/net/packet-scanner.js';

/** A packet of `type` with a body of `bodyBytes` (MQTT 3.1.1 §2.2: Remaining Length, 7 bits a byte). */
function packet(type: number, bodyBytes: number): Buffer {
  const length: number[] = [];
  let n = bodyBytes;
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    length.push(byte);
  } while (n > 0);
  return Buffer.concat([Buffer.from([type << 4, ...length]), Buffer.alloc(bodyBytes, 0x61)]);
}
// Topic (2 + 21), packet id (2) and the payload, like a QoS 1 status publish.
const connect = packet(1, 340);
const publish = (size: number) => packet(3, 2 + 21 + 2 + size);
const ping = packet(12, 0);

describe('PacketScanner', () => {
  it('passes a normal session and counts its packets', () => {
    const scanner = new PacketScanner(8192);
    expect(scanner.feed(Buffer.concat([connect, publish(100), ping, publish(4000)]))).toEqual({ ok: true });
    expect(scanner.packets).toBe(4);
  });
  it('refuses a packet whose whole size (header included) exceeds the limit, at its header', () => {
    const packet = publish(1000);
    expect(new PacketScanner(packet.length).feed(Buffer.concat([connect.subarray(0, 0), connectPlus(packet)]))).toEqual({ ok: true });
    const scanner = new PacketScanner(packet.length - 1);
    expect(scanner.feed(connect)).toEqual({ ok: true });
    expect(scanner.feed(packet.subarray(0, 4))).toEqual({ ok: false, reason: 'packet_too_large' });
    // Sticky: nothing more passes.
    expect(scanner.feed(ping)).toEqual({ ok: false, reason: 'packet_too_large' });
  });
  it('refuses a 256 MB announcement from its first bytes', () => {
    expect(new PacketScanner(65536).feed(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]))).toEqual({ ok: false, reason: 'packet_too_large' });
  });
  it('refuses a fifth Remaining Length byte, reserved types and a first packet that is not CONNECT', () => {
    expect(new PacketScanner(1 << 30).feed(Buffer.from([0x10, 0x80, 0x80, 0x80, 0x80, 0x01]))).toEqual({ ok: false, reason: 'malformed_packet' });
    expect(new PacketScanner(1024).feed(Buffer.from([0x30, 0x00]))).toEqual({ ok: false, reason: 'malformed_packet' });
    const scanner = new PacketScanner(1024);
    expect(scanner.feed(Buffer.from([0x10, 0x00]))).toEqual({ ok: true });
    expect(scanner.feed(Buffer.from([0x00, 0x00]))).toEqual({ ok: false, reason: 'malformed_packet' });
    const fifteen = new PacketScanner(1024);
    fifteen.feed(Buffer.from([0x10, 0x00]));
    expect(fifteen.feed(Buffer.from([0xf0, 0x00]))).toEqual({ ok: false, reason: 'malformed_packet' });
  });
  it('the limit can be changed once the identity is known', () => {
    const scanner = new PacketScanner(8192);
    scanner.feed(connect);
    scanner.setMaxPacketBytes(4096 + 256);
    expect(scanner.feed(publish(4096))).toEqual({ ok: true });
    expect(scanner.feed(publish(5000))).toEqual({ ok: false, reason: 'packet_too_large' });
  });
  it('gives the same verdict however the stream is chunked', () => {
    const streams = fc.array(fc.constantFrom(publish(10), publish(3000), publish(9000), ping, Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x00])), { maxLength: 6 });
    fc.assert(
      fc.property(streams, fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 20 }), (packets, cuts) => {
        const stream = Buffer.concat([connect, ...packets]);
        const whole = new PacketScanner(8192).feed(stream);
        const chunked = new PacketScanner(8192);
        let offset = 0;
        let verdict = { ok: true } as ReturnType<PacketScanner['feed']>;
        for (let i = 0; offset < stream.length; i++) {
          const size = cuts[i % cuts.length]!;
          verdict = chunked.feed(stream.subarray(offset, offset + size));
          offset += size;
        }
        expect(verdict).toEqual(whole);
      }),
      { numRuns: 300 },
    );
  });
});

function connectPlus(packet: Buffer): Buffer {
  return Buffer.concat([connect, packet]);
}
