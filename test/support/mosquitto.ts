// Starts a real `mosquitto` (Debian's package; .ci/run installs it when missing) on the config
// a test wrote, waits until every listener accepts TCP, and stops it. Its stderr is kept for
// the failure message.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';

export const MOSQUITTO_BIN = process.env.MOSQUITTO ?? '/usr/sbin/mosquitto';

export interface RunningMosquitto {
  child: ChildProcess;
  output(): string;
  /** SIGHUP: Mosquitto reloads its ACL, password and CRL files. */
  reload(): void;
  stop(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export async function startMosquitto(configPath: string, ports: readonly number[], timeoutMs = 15_000): Promise<RunningMosquitto> {
  const child = spawn(MOSQUITTO_BIN, ['-c', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`mosquitto exited with ${child.exitCode}: ${output}`);
    const up = await Promise.all(ports.map(accepts));
    if (up.every(Boolean)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not listen on ${ports.join(', ')} within ${timeoutMs} ms: ${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    child,
    output: () => output,
    reload: () => child.kill('SIGHUP'),
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
