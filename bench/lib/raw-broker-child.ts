// Child-process entry of the raw benchmark: a plain Aedes broker on a loopback port, with no
// auth, no ACL, no Redis and no limits (the ceiling fleet-ota's broker is compared against).
// It reports its port, then answers `stats` requests with its CPU time and memory over IPC.
import { createServer } from 'node:net';
import { Aedes } from 'aedes';
import type { BrokerChildMessage, ParentMessage } from './broker-child.js';

if (typeof process.send !== 'function') {
  process.stderr.write('raw-broker-child: run me with child_process.fork (an IPC channel is required)\n');
  process.exit(2);
}
const send = (message: BrokerChildMessage) => process.send?.(message);

// Defaults, as fleet-ota's broker uses them (broker/start-broker.ts sets only connectTimeout).
const aedes = await Aedes.createBroker();
// noDelay, as fleet-ota's listener (broker/net/listener.ts): small QoS 1 acks must not wait on Nagle.
const server = createServer({ noDelay: true }, (socket) => aedes.handle(socket));
// A backlog above Node's default 511: the parent connects in bursts of its connect concurrency.
server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const { port } = server.address() as { port: number };
  send({ type: 'ready', port, pid: process.pid });
});

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stats') {
    const cpu = process.cpuUsage();
    send({
      type: 'stats',
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rssBytes: process.memoryUsage().rss,
      // ru_maxrss is in KiB on Linux.
      maxRssBytes: process.resourceUsage().maxRSS * 1024,
      connectedClients: aedes.connectedClients,
    });
  } else if (message.type === 'stop') {
    server.close();
    aedes.close(() => process.exit(0));
  }
});
// The parent died or closed the channel: never outlive it.
process.on('disconnect', () => process.exit(0));
