// The stream Aedes reads and writes instead of the raw socket: bytes pass through unchanged,
// but every chunk is scanned first (packet-scanner.ts) and counted. A refused packet closes
// the socket before Aedes has buffered any of its body. Backpressure is passed both ways.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';
import { PacketScanner } from './packet-scanner.js';

export interface ConnectionObserver {
  refused(reason: 'packet_too_large' | 'malformed_packet'): void;
  bytesIn(count: number): void;
  bytesOut(count: number): void;
}

export class GuardedConnection extends Duplex {
  readonly remoteAddress: string | undefined;
  private readonly scanner: PacketScanner;

  constructor(
    private readonly socket: Socket,
    maxPacketBytes: number,
    private readonly observer: ConnectionObserver,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = socket.remoteAddress;
    this.scanner = new PacketScanner(maxPacketBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      observer.bytesIn(chunk.length);
      const result = this.scanner.feed(chunk);
      if (!result.ok) {
        socket.pause();
        observer.refused(result.reason);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) socket.pause();
    });
    socket.on('end', () => this.push(null));
    socket.on('error', (error) => this.destroy(error));
    socket.on('close', () => this.destroy());
  }

  /** Set once CONNECT is authenticated: a device needs far less than the orchestrator. */
  setMaxPacketBytes(bytes: number): void {
    this.scanner.setMaxPacketBytes(bytes);
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.observer.bytesOut(chunk.length);
    if (this.socket.write(chunk)) callback();
    else this.socket.once('drain', () => callback());
  }

  override _writev(chunks: { chunk: Buffer }[], callback: (error?: Error | null) => void): void {
    // mqtt-packet writes a packet in several pieces: one syscall for all of them.
    this.socket.cork();
    let flushed = true;
    for (const { chunk } of chunks) {
      this.observer.bytesOut(chunk.length);
      flushed = this.socket.write(chunk);
    }
    this.socket.uncork();
    if (flushed) callback();
    else this.socket.once('drain', () => callback());
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy();
    callback(error);
  }
}
