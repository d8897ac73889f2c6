// The main job (`npm start`): a real 3-wave staged rollout on one machine. Fresh keys, the broker
// and orchestrator in this process, N simulated devices over real MQTT (a few of them failing),
// live progress per wave in the terminal and on the dashboard, then a summary.
import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { failedCount } from '../../protocol/states.js';
import { connectFleet, provisionFleet, type FleetHandle } from '../../device-sim/sim/index.js';
import { frameWriter, isFinished, renderRollout } from '../rollout-progress.js';
import { ensureRedis } from '../../orchestrator/infra/redis-bootstrap.js';
import type { Logger } from '../../runtime/logger.js';
import type { RolloutView } from '../../orchestrator/rollouts/model.js';
import { startLocalStack, type LocalStack, type LocalStackOptions } from './local-stack.js';

export interface DemoOptions {
  devices: number;
  /** Simulator profile mix (device-sim/sim/profiles.ts). */
  profiles: string;
  httpPort: number;
  waves: string[];
  bakeSeconds: number;
  keepOpen: boolean;
  logger: Logger;
  out: NodeJS.WriteStream;
  stackOptions?: Partial<LocalStackOptions>;
}

export { DEMO_DEFAULTS } from './demo-defaults.js';

export interface DemoResult {
  rollout: RolloutView;
  waveSeconds: number[];
  totalSeconds: number;
}

async function stackOnPort(options: Partial<LocalStackOptions>, port: number): Promise<LocalStack> {
  try {
    return await startLocalStack({ ...options, httpPort: port });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    return startLocalStack({ ...options, httpPort: 0 });
  }
}

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const say = (text: string) => options.out.write(`${text}\n`);
  // Ctrl-C stops the run between steps and still cleans up (Redis keys, temp files, a private Redis).
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    say('\nstopping: cleaning up...');
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const redis = await ensureRedis({ logger: options.logger });
  say(`redis        ${redis.spawned ? `private redis-server at ${redis.url} (stopped on exit)` : redis.url}`);
  let stack: LocalStack | undefined;
  let fleet: FleetHandle | undefined;
  try {
    stack = await stackOnPort({ redisUrl: redis.url, logger: options.logger, prefix: `fleet-demo:${randomBytes(3).toString('hex')}:`, ...options.stackOptions }, options.httpPort);
    say(`keys         root 2-of-3, release 1-of-1, director 1-of-1 in ${stack.workDir}/keys (0600)`);
    say(`broker       ${stack.brokerUrl}`);
    say(`orchestrator ${stack.apiUrl}`);
    say(`dashboard    ${stack.apiUrl}/dashboard/#token=${stack.operatorToken}`);

    const release = await stack.publishRelease({ releaseId: 'gw-fw-2.0.0', version: '2.0.0', sequence: 2, payload: new Uint8Array(randomBytes(64 * 1024)) });
    say(`release      ${release.releaseId} (sequence 2, 64 KiB image, signed offline with the release key, digest ${release.digest.slice(0, 16)}…)`);

    const provisioned = await provisionFleet({ count: options.devices, idPrefix: 'gw-', root: stack.root, vendorId: stack.vendorId, classId: stack.classId, profiles: options.profiles });
    await stack.registerDevices(provisioned.devices);
    const connecting = Date.now();
    fleet = await connectFleet(provisioned, { brokerUrl: stack.brokerUrl, connectConcurrency: 200 });
    say(`devices      ${fleet.connected()} of ${options.devices} simulated devices connected in ${((Date.now() - connecting) / 1000).toFixed(1)} s (profiles ${options.profiles})`);

    const started = Date.now();
    // A fixed id: with seeded profiles and fixed device ids the waves, and so the run, repeat exactly.
    const created = await stack.createRollout({
      id: 'gw-fw-2.0.0-staged',
      releaseId: release.releaseId,
      // Every device of the demo's class: the API wants the whole fleet said out loud.
      target: { all: true },
      waves: options.waves.map((w) => ({ percent: Number(w.replace('%', '')), bakeSeconds: options.bakeSeconds, successThreshold: 0.9, failureThreshold: 0.2, deviceTimeoutSeconds: 120 })),
    });
    say(`rollout      ${created.id}: ${created.waves.map((w) => w.size).join(' + ')} devices in ${created.waves.length} waves\n`);

    // Live view: redraw on a TTY, a line per change otherwise.
    const draw = frameWriter(options.out);
    const waveDone: number[] = [];
    let view = created;
    let last = '';
    while (!isFinished(view) && !interrupted) {
      await sleep(250);
      view = await stack.orchestrator.store.view(created.id);
      view.waves.forEach((w) => {
        if (w.status === 'done' && waveDone[w.index] === undefined) waveDone[w.index] = Date.now();
      });
      const frame = renderRollout(view, options.out.isTTY === true);
      if (options.out.isTTY || frame.join('\n') !== last) draw(frame);
      last = frame.join('\n');
      if (view.status === 'paused') {
        say('\nThe rollout paused at a threshold: see the reasons above. Resuming accepts the wave as it stands.');
        break;
      }
    }
    const totalSeconds = (Date.now() - started) / 1000;
    const waveSeconds = view.waves.map((w, i) => ((waveDone[i] ?? Date.now()) - (i === 0 ? started : waveDone[i - 1] ?? started)) / 1000);
    say('\nsummary');
    say(`  status     ${view.status}${view.statusReason ? ` (${view.statusReason})` : ''}`);
    say(`  succeeded  ${view.counts.succeeded ?? 0} of ${view.total}`);
    const failures = Object.entries(view.reasons);
    say(`  failed     ${failedCount(view.counts)}${failures.length ? ` (${failures.map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}`);
    view.waves.forEach((w, i) => say(`  wave ${i + 1}     ${w.size} devices, ${waveSeconds[i]!.toFixed(1)} s`));
    say(`  total      ${totalSeconds.toFixed(1)} s`);
    if (options.keepOpen && !interrupted) {
      say(`\ndashboard stays up at ${stack.apiUrl}/dashboard/#token=${stack.operatorToken}; Ctrl-C to stop.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => resolve());
        process.once('SIGTERM', () => resolve());
      });
    }
    return { rollout: view, waveSeconds, totalSeconds };
  } finally {
    await fleet?.stop();
    await stack?.close();
    await redis.stop();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
