// The demo's defaults, apart from run-demo.ts so the CLI can show them in --help without loading
// the whole stack (broker, orchestrator, simulator) on every command.
export const DEMO_DEFAULTS = {
  devices: 1_000,
  // A few devices fail in each way a device can: the rollout shows reasons, and stays under thresholds.
  profiles: 'healthy:97,install-failure:1,download-failure:1,health-check-failure:1',
  httpPort: 8080,
  waves: ['1%', '10%', '100%'],
  bakeSeconds: 2,
} as const;
