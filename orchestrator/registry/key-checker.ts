// Public key checks for device registration. `full`: protocol's isPrimeOrderPublicKey on every
// key (curve point, prime-order subgroup: ~1 ms of pure-JS curve arithmetic each), in a pool of
// worker threads for bulk imports. `decode`: the 32-byte encoding only. Not a cache.
import { Worker } from 'node:worker_threads';
import { decodePublicKey } from '../../protocol/index.js';
import type { ImportKeyCheck } from '../config.js';
import type { KeyCheckAnswer, KeyCheckJob } from './key-check-worker.js';
import { isAcceptableWireKey } from './acceptable-key.js';

export interface KeyChecker {
  readonly mode: ImportKeyCheck;
  /** One verdict per key, in order. */
  check(keys: readonly string[]): Promise<boolean[]>;
  close(): Promise<void>;
}

/** Batches this small run inline: a worker round trip would cost more than it saves. */
const INLINE_BATCH = 8;

/**
 * Worker threads load the checker module directly when compiled (dist/), or through tsx's
 * loader when running from the TypeScript sources (development, tests).
 */
function workerSource(): string {
  const fromSources = import.meta.url.endsWith('.ts');
  const target = new URL(`./key-check-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url).href;
  if (!fromSources) return `import(${JSON.stringify(target)});`;
  const tsx = import.meta.resolve('tsx/esm/api');
  return `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(target)}); });`;
}

interface Pending {
  resolve(verdicts: boolean[]): void;
  reject(error: Error): void;
}

class WorkerPool {
  private readonly workers: Array<{ worker: Worker; busy: number }> = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly size: number) {}

  private spawn(): { worker: Worker; busy: number } {
    const slot = { worker: new Worker(workerSource(), { eval: true }), busy: 0 };
    slot.worker.on('message', (answer: KeyCheckAnswer) => {
      slot.busy--;
      const waiter = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      waiter?.resolve(answer.verdicts);
    });
    const fail = (error: Error) => {
      // A dead worker fails what it held; the next batch gets a fresh one.
      const index = this.workers.indexOf(slot);
      if (index >= 0) this.workers.splice(index, 1);
      for (const [id, waiter] of this.pending) {
        this.pending.delete(id);
        waiter.reject(error);
      }
    };
    slot.worker.on('error', fail);
    slot.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`key check worker exited with code ${code}`));
    });
    // Idle workers must not keep a CLI or test process alive.
    slot.worker.unref();
    this.workers.push(slot);
    return slot;
  }

  run(keys: string[]): Promise<boolean[]> {
    if (this.closed) return Promise.reject(new Error('key checker closed'));
    let slot = this.workers.reduce<{ worker: Worker; busy: number } | undefined>((best, s) => (!best || s.busy < best.busy ? s : best), undefined);
    if (!slot || (slot.busy > 0 && this.workers.length < this.size)) slot = this.spawn();
    const id = this.nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const job: KeyCheckJob = { id, keys };
      slot.worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((s) => s.worker.terminate()));
    for (const waiter of this.pending.values()) waiter.reject(new Error('key checker closed'));
    this.pending.clear();
  }
}

export function createKeyChecker(options: { mode: ImportKeyCheck; workers: number }): KeyChecker {
  if (options.mode === 'decode') {
    return {
      mode: 'decode',
      check: async (keys) => keys.map((key) => decodePublicKey(key) !== undefined),
      close: async () => {},
    };
  }
  const pool = new WorkerPool(Math.max(1, options.workers));
  return {
    mode: 'full',
    check: async (keys) => (keys.length <= INLINE_BATCH ? keys.map(isAcceptableWireKey) : pool.run([...keys])),
    close: () => pool.close(),
  };
}
