// Public key checks for device registration. `full`: protocol's isPrimeOrderPublicKey on every
// key (curve point, prime-order subgroup: ~1 ms of pure-JS curve arithmetic each), in a pool of
// worker threads (piscina) for bulk imports. `decode`: the 32-byte encoding only. Not a cache.
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { decodePublicKey } from '../../protocol/index.js';
import type { ImportKeyCheck } from '../config.js';
import { isAcceptableWireKey } from './acceptable-key.js';

export interface KeyChecker {
  readonly mode: ImportKeyCheck;
  /** One verdict per key, in order. */
  check(keys: readonly string[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/** Batches this small run inline: a worker round trip would cost more than it saves. */
const INLINE_BATCH = 8;

/** A worker idle this long is shut down (the next bulk import starts one again). */
const WORKER_IDLE_MS = 60_000;

/**
 * The worker module: compiled (dist/), key-check-worker.js itself; from the TypeScript sources
 * (development, tests), a small .mjs that registers tsx in the worker first.
 */
function workerFile(): string {
  const fromSources = import.meta.url.endsWith('.ts');
  return fileURLToPath(new URL(fromSources ? './key-check-worker.from-sources.mjs' : './key-check-worker.js', import.meta.url));
}

export function createKeyChecker(options: { mode: ImportKeyCheck; workers: number }): KeyChecker {
  if (options.mode === 'decode') {
    return {
      mode: 'decode',
      check: async (keys) => keys.map((key) => decodePublicKey(key) !== undefined),
      close: async () => {},
    };
  }
  // Workers start on the first batch, not at boot; piscina unrefs idle ones, so they keep no
  // CLI or test process alive, and replaces a worker that dies (its batch fails).
  const pool = new Piscina<string[], boolean[]>({ filename: workerFile(), minThreads: 0, maxThreads: Math.max(1, options.workers), idleTimeout: WORKER_IDLE_MS });
  let closed = false;
  return {
    mode: 'full',
    check: async (keys) => {
      if (closed) throw new Error('key checker closed');
      return keys.length <= INLINE_BATCH ? keys.map(isAcceptableWireKey) : pool.run([...keys]);
    },
    close: async () => {
      closed = true;
      await pool.destroy();
    },
  };
}
