// A loopback TCP proxy that holds what the upstream (the broker) sends on each new connection
// until it has been quiet for `quietMs`, then hands it over in one write: a link that is slow
// just after connecting. The client then reads CONNACK together with everything the broker sent
// right behind it (a persistent session's queued messages), which makes that read order
// deterministic. After the first burst it is a plain pipe; it changes no byte.
import { createServer, connect, type Socket } from 'node:net';

export interface LagProxyOptions {
  /** Flush once the upstream has sent nothing for this long... */
  quietMs: number;
  /** ...or once the first burst has been held this long. */
  maxHoldMs: number;
}

export interface LagProxy {
  url: string;
  close(): Promise<void>;
}

export async function startLagProxy(upstreamPort: number, options: LagProxyOptions): Promise<LagProxy> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const server = createServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    track(client);
    track(upstream);
    const teardown = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', teardown).on('close', teardown);
    upstream.on('error', teardown).on('close', teardown);
    client.pipe(upstream);
    const held: Buffer[] = [];
    let quiet: NodeJS.Timeout | undefined;
    let cap: NodeJS.Timeout | undefined;
    const flush = (): void => {
      clearTimeout(quiet);
      clearTimeout(cap);
      upstream.off('data', onData);
      if (!client.destroyed) client.write(Buffer.concat(held));
      upstream.pipe(client);
    };
    const onData = (chunk: Buffer): void => {
      held.push(chunk);
      cap ??= setTimeout(flush, options.maxHoldMs);
      clearTimeout(quiet);
      quiet = setTimeout(flush, options.quietMs);
    };
    upstream.on('data', onData);
    upstream.once('close', () => {
      clearTimeout(quiet);
      clearTimeout(cap);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}
