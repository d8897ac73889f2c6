// A CPU profile of this process (the simulated devices) over one window, e.g. the rollout only,
// written as a .cpuprofile (open it in Chrome DevTools or speedscope). node --cpu-prof would also
// cover provisioning and connecting, which the rollout figures exclude.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';

export interface WindowProfiler {
  /** Stops profiling and writes the profile to `path`. */
  stop(path: string): Promise<void>;
}

export async function startWindowProfiler(): Promise<WindowProfiler> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop(path) {
      const { profile } = await session.post('Profiler.stop');
      await writeFile(path, JSON.stringify(profile));
      session.disconnect();
    },
  };
}
