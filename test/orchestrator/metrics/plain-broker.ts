// A plain in-process Aedes on port 0 (no auth, no ACL): the metrics test needs real MQTT packets
// on the wire, not the broker's policy, which broker/ tests cover.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface PlainBroker {
  url: string;
  close(): Promise<void>;
}

export async function startPlainBroker(): Promise<PlainBroker> {
  const aedes = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    aedes.handle(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    },
  };
}
