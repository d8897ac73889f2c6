// The main job (`npm start`) end to end at a small size: fresh keys, broker, orchestrator,
// simulated devices, a 3-wave rollout with failing devices, the summary.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DEMO_DEFAULTS, runDemo } from '../../../launcher/demo/run-demo.js';
import { silentLogger } from '../../../runtime/logger.js';

describe('runDemo', () => {
  it('rolls a signed release out in three waves and prints the dashboard link and a summary', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    const result = await runDemo({
      devices: 100,
      profiles: DEMO_DEFAULTS.profiles,
      httpPort: 0,
      waves: ['5%', '30%', '100%'],
      bakeSeconds: 0,
      keepOpen: false,
      logger: silentLogger(),
      out: out as unknown as NodeJS.WriteStream,
    });
    // Profiles are assigned with a fixed seed, so the outcome is exact.
    expect(result.rollout.status).toBe('completed');
    expect(result.rollout.waves.map((w) => w.size)).toEqual([5, 25, 70]);
    expect(result.rollout.counts).toEqual({ succeeded: 97, failed: 3 });
    expect(result.rollout.reasons).toEqual({ install_failed: 1, download_failed: 1, health_check_failed: 1 });
    expect(text).toMatch(/dashboard +http:\/\/127\.0\.0\.1:\d+\/dashboard\/#token=\S+/);
    expect(text).toMatch(/summary/);
    expect(text).toMatch(/succeeded +97 of 100/);
  }, 120_000);
});
