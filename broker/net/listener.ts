// The MQTT listener (TCP or TLS): enforces the connection limits at accept time, before any
// TLS handshake or MQTT parsing costs are paid, then hands a GuardedConnection to Aedes.
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { ConnectRateLimiter } from '../limits/connect-rate.js';
import { GuardedConnection, type ConnectionObserver } from './guarded-connection.js';

export interface ListenerOptions {
  host: string;
  port: number;
  tls?: { key: Buffer; cert: Buffer };
  maxConnections: number;
  connectsPerIpPerSec: number;
  connectTimeoutMs: number;
  maxPreAuthPacketBytes: number;
}

export interface ListenerObserver extends ConnectionObserver {
  refused(reason: 'max_connections' | 'connect_rate' | 'packet_too_large' | 'malformed_packet'): void;
}

export interface RunningListener {
  readonly port: number;
  openSockets(): number;
  /** Stops accepting new connections; open ones stay. */
  stopAccepting(): void;
  /** Stops accepting and destroys every open socket. */
  close(): Promise<void>;
}

export async function startListener(
  options: ListenerOptions,
  observer: ListenerObserver,
  onConnection: (connection: GuardedConnection) => void,
): Promise<RunningListener> {
  const sockets = new Set<Socket>();
  const rate = new ConnectRateLimiter(options.connectsPerIpPerSec);
  const accept = (socket: Socket) => onConnection(new GuardedConnection(socket, options.maxPreAuthPacketBytes, observer));

  const server: Server = options.tls
    ? createTlsServer({ key: options.tls.key, cert: options.tls.cert, minVersion: 'TLSv1.2', handshakeTimeout: options.connectTimeoutMs })
    : createTcpServer({ noDelay: true });

  server.on('connection', (socket: Socket) => {
    if (!rate.allow(socket.remoteAddress ?? '', performance.now())) {
      observer.refused('connect_rate');
      socket.destroy();
      return;
    }
    if (sockets.size >= options.maxConnections) {
      observer.refused('max_connections');
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (!options.tls) accept(socket);
  });
  if (options.tls) {
    server.on('secureConnection', (socket: TLSSocket) => accept(socket));
    server.on('tlsClientError', (_error: Error, socket: TLSSocket) => socket.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;

  return {
    port,
    openSockets: () => sockets.size,
    stopAccepting: () => {
      if (server.listening) server.close();
    },
    close: async () => {
      if (server.listening) server.close();
      const open = [...sockets];
      for (const socket of open) socket.destroy();
      // Wait for each socket's own 'close' (the server's may already have fired: it counts a
      // socket gone when destroyed, a tick before the socket says so).
      await Promise.all(open.map((socket) => (socket.closed ? undefined : new Promise((resolve) => socket.once('close', resolve)))));
    },
  };
}
