// Token-expiry bookkeeping for N sessions (broker/auth/session-expiry.ts): one shared wheel of
// one-second slots versus one setTimeout per session. Arms N deadlines spread over a day (as
// tokens issued at different times are), clears half (disconnects), and prints time and heap
// per approach. Not a test. Each approach runs in its own child process for a clean heap.
//
//   npx tsx --expose-gc bench/session-expiry.ts [--sessions 100000]
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SessionExpiry } from '../broker/auth/session-expiry.js';

const DAY_MS = 86_400_000;
const { values } = parseArgs({ options: { sessions: { type: 'string', default: '100000' }, mode: { type: 'string' } } });
const sessions = Number(values.sessions);

function heapMiB(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

function run(mode: string): void {
  const deadlines = Array.from({ length: sessions }, (_, i) => Math.floor(((i * 7919) % sessions) / sessions * DAY_MS) + 60_000);
  const items = deadlines.map((_, i) => ({ id: i }));
  const before = heapMiB();
  const start = performance.now();
  let clear: (i: number) => void;
  let stop: () => void;
  if (mode === 'wheel') {
    const now = Date.now();
    const wheel = new SessionExpiry<{ id: number }>({ nowSeconds: () => Date.now() / 1000, onExpired: () => undefined });
    for (let i = 0; i < sessions; i++) wheel.add(items[i]!, (now + deadlines[i]!) / 1000);
    clear = (i) => wheel.remove(items[i]!);
    stop = () => wheel.close();
  } else {
    const timers = deadlines.map((ms) => setTimeout(() => undefined, ms));
    clear = (i) => clearTimeout(timers[i]);
    stop = () => timers.forEach((t) => clearTimeout(t));
  }
  const armMs = performance.now() - start;
  const heap = heapMiB() - before;
  const clearStart = performance.now();
  for (let i = 0; i < sessions; i += 2) clear(i);
  const clearMs = performance.now() - clearStart;
  stop();
  console.log(JSON.stringify({ mode, sessions, armMs: Math.round(armMs), clearHalfMs: Math.round(clearMs), heapMiB: Math.round(heap * 10) / 10 }));
}

if (values.mode) run(values.mode);
else {
  const self = fileURLToPath(import.meta.url);
  for (const mode of ['wheel', 'timers']) {
    process.stdout.write(execFileSync(process.execPath, [...process.execArgv, self, '--mode', mode, '--sessions', String(sessions)]));
  }
}
