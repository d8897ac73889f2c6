// A node:http artifact server on port 0 that honours Range (RFC 9110 §14), with faults for
// tests: drop the connection after N bytes, ignore Range, send more than declared, fail.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ServedFile {
  bytes: Uint8Array;
  /** Cut the connection after this many body bytes, on the first `dropTimes` requests. */
  dropAfter?: number;
  dropTimes?: number;
  ignoreRange?: boolean;
  /** Answer with this status instead. */
  status?: number;
  /** Omit Content-Length (chunked), so only the stream reveals the size. */
  chunked?: boolean;
}

export interface PayloadServer {
  url(path: string): string;
  files: Map<string, ServedFile>;
  requests: Array<{ path: string; headers: IncomingHttpHeaders }>;
  close(): Promise<void>;
  server: Server;
}

export async function startPayloadServer(): Promise<PayloadServer> {
  const files = new Map<string, ServedFile>();
  const requests: PayloadServer['requests'] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '/';
    requests.push({ path, headers: req.headers });
    const file = files.get(path);
    if (!file) return void res.writeHead(404).end();
    if (file.status) return void res.writeHead(file.status).end();
    let start = 0;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && !file.ignoreRange) start = Number(range[1]);
    const body = file.bytes.subarray(start);
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    if (!file.chunked) headers['content-length'] = String(body.length);
    if (start > 0) headers['content-range'] = `bytes ${start}-${file.bytes.length - 1}/${file.bytes.length}`;
    res.writeHead(start > 0 ? 206 : 200, headers);
    if (file.dropAfter !== undefined && (file.dropTimes ?? 1) > 0) {
      file.dropTimes = (file.dropTimes ?? 1) - 1;
      res.write(body.subarray(0, file.dropAfter), () => setTimeout(() => res.destroy(), 10));
      return;
    }
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: (path) => `http://127.0.0.1:${port}${path}`,
    files,
    requests,
    server,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
