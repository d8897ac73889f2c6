// Starts the raw benchmark's Aedes broker in a child process and talks to it over IPC. A child,
// because each loopback connection costs two descriptors and ulimit -n is per process.
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export type ParentMessage = { type: 'stats' } | { type: 'stop' };
export interface BrokerStats {
  cpuUserUs: number;
  cpuSystemUs: number;
  rssBytes: number;
  maxRssBytes: number;
  connectedClients: number;
}
export type BrokerChildMessage = { type: 'ready'; port: number; pid: number } | ({ type: 'stats' } & BrokerStats);

export interface BrokerChild {
  port: number;
  pid: number;
  stats(): Promise<BrokerStats>;
  stop(): Promise<void>;
}

export const BROKER_CHILD_DEFAULTS = { startTimeoutMs: 20_000, statsTimeoutMs: 5_000, stopTimeoutMs: 5_000 } as const;

const ENTRY = fileURLToPath(new URL('./raw-broker-child.ts', import.meta.url));

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Forks the broker (TypeScript through tsx, resolved from here so any cwd works) and waits for its port. */
export async function startBrokerChild(): Promise<BrokerChild> {
  const child = fork(ENTRY, [], { execArgv: ['--import', import.meta.resolve('tsx')], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port: number; pid: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('raw broker did not start in time')), BROKER_CHILD_DEFAULTS.startTimeoutMs);
    child.once('exit', (code, signal) => reject(new Error(`raw broker exited while starting (${signal ?? code})`)));
    child.once('error', reject);
    child.on('message', (message: BrokerChildMessage) => {
      if (message.type === 'ready') {
        clearTimeout(timer);
        resolve(message);
      }
    });
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });

  const stats = () =>
    new Promise<BrokerStats>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.off('message', onMessage);
        reject(new Error('raw broker did not answer a stats request'));
      }, BROKER_CHILD_DEFAULTS.statsTimeoutMs);
      const onMessage = (message: BrokerChildMessage) => {
        if (message.type !== 'stats') return;
        clearTimeout(timer);
        child.off('message', onMessage);
        const { type: _type, ...rest } = message;
        resolve(rest);
      };
      child.on('message', onMessage);
      child.send({ type: 'stats' } satisfies ParentMessage);
    });

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
      const timer = setTimeout(() => child.kill('SIGKILL'), BROKER_CHILD_DEFAULTS.stopTimeoutMs);
      await exitOf(child);
      clearTimeout(timer);
    })();
    return stopping;
  };
  return { port: ready.port, pid: ready.pid, stats, stop };
}
