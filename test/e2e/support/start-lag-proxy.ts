// A loopback TCP proxy that holds the first `holdMs` of upstream -> client bytes of every
// connection and hands them over in one write: a link that is slow just after connecting, so
// the client reads CONNACK together with whatever the broker sent right after it (a persistent
// session's queued messages). It makes that ordering deterministic; it changes no byte.
import { createServer, connect, type Socket } from 'node:net';

export interface LagProxy {
  url: string;
  close(): Promise<void>;
}

export async function startLagProxy(upstreamPort: number, holdMs: number): Promise<LagProxy> {
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
    let held: Buffer[] | undefined;
    const onData = (chunk: Buffer): void => {
      if (held) {
        held.push(chunk);
        return;
      }
      held = [chunk];
      setTimeout(() => {
        upstream.off('data', onData);
        if (!client.destroyed) client.write(Buffer.concat(held!));
        upstream.pipe(client);
      }, holdMs);
    };
    upstream.on('data', onData);
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
