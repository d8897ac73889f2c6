// Exact-topic index for retained messages in Aedes' default in-memory persistence. Its
// createRetainedStreamCombi tests every retained topic against every filter of a SUBSCRIBE
// (aedes-persistence 11, asyncPersistence.js): with one retained presence per device, each
// device's subscription to its own directive topic costs O(devices), and a reconnect storm
// O(devices²). Devices only ever subscribe to one exact topic, so those are answered from a
// map here; wildcard filters (services) keep the original scan. The Redis persistence (the
// default) already reads exact topics with one HGET and is left alone.
import { Readable } from 'node:stream';

interface RetainedPacket {
  topic: string;
  payload: Buffer;
}

interface MemoryPersistence {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
}

function hasWildcard(pattern: string): boolean {
  return pattern.includes('+') || pattern.includes('#');
}

export function indexRetainedLookups(persistence: unknown): void {
  const target = persistence as MemoryPersistence;
  const byTopic = new Map<string, RetainedPacket>();
  const store = target.storeRetained.bind(target);
  const combi = target.createRetainedStreamCombi.bind(target);
  target.storeRetained = async (packet) => {
    await store(packet);
    // Same rule as the store: an empty retained payload deletes [MQTT-3.3.1-10].
    if (packet.payload.length === 0) byTopic.delete(packet.topic);
    else byTopic.set(packet.topic, { ...packet });
  };
  target.createRetainedStreamCombi = (patterns) => {
    if (patterns.some(hasWildcard)) return combi(patterns);
    const found: RetainedPacket[] = [];
    for (const pattern of new Set(patterns)) {
      const packet = byTopic.get(pattern);
      if (packet) found.push(packet);
    }
    return Readable.from(found);
  };
}
