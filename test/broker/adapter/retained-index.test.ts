// The exact-topic retained index over a stand-in for Aedes' memory persistence: exact filters
// come from the index, empty payloads delete, wildcard filters fall through to the scan.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { indexRetainedLookups } from '../../../broker/adapter/retained-index.js';

type Packet = { topic: string; payload: Buffer };

function scanningStore() {
  const retained = new Map<string, Packet>();
  const store = {
    scans: 0,
    async storeRetained(packet: Packet) {
      if (packet.payload.length === 0) retained.delete(packet.topic);
      else retained.set(packet.topic, packet);
    },
    createRetainedStreamCombi(patterns: string[]) {
      store.scans++;
      const prefixes = patterns.map((p) => p.replace(/[+#].*$/, ''));
      return Readable.from([...retained.values()].filter((p) => prefixes.some((prefix) => p.topic.startsWith(prefix))));
    },
  };
  return store;
}

async function read(stream: Readable): Promise<string[]> {
  const out: string[] = [];
  for await (const packet of stream) out.push(`${(packet as Packet).topic}=${(packet as Packet).payload.toString()}`);
  return out;
}

describe('indexRetainedLookups', () => {
  it('answers exact topics without scanning, honours deletes, and scans for wildcards', async () => {
    const store = scanningStore();
    indexRetainedLookups(store);
    await store.storeRetained({ topic: 'fleet/v1/a/presence', payload: Buffer.from('online') });
    await store.storeRetained({ topic: 'fleet/v1/a/directive', payload: Buffer.from('d1') });
    await store.storeRetained({ topic: 'fleet/v1/a/directive', payload: Buffer.from('d2') });
    expect(await read(store.createRetainedStreamCombi(['fleet/v1/a/directive']))).toEqual(['fleet/v1/a/directive=d2']);
    expect(await read(store.createRetainedStreamCombi(['fleet/v1/b/directive']))).toEqual([]);
    expect(store.scans).toBe(0);
    await store.storeRetained({ topic: 'fleet/v1/a/directive', payload: Buffer.alloc(0) });
    expect(await read(store.createRetainedStreamCombi(['fleet/v1/a/directive', 'fleet/v1/a/directive']))).toEqual([]);
    expect(await read(store.createRetainedStreamCombi(['fleet/v1/+/presence']))).toEqual(['fleet/v1/a/presence=online']);
    expect(store.scans).toBe(1);
  });
});
