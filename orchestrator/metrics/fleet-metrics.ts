// Fleet gauges from the registry's summary pass (orchestrator/registry/fleet-summary.ts): devices
// by presence and revoked. The pass reads every device record, so it is cached (named TTL).
import { Gauge, type Registry } from 'prom-client';
import type { FleetSummary } from '../registry/fleet-summary.js';

export function registerFleetMetrics(registry: Registry, summary: () => Promise<FleetSummary>): void {
  new Gauge({
    name: 'fleet_devices',
    help: 'Registered devices by last reported presence (unknown: never reported).',
    labelNames: ['presence'] as const,
    registers: [registry],
    async collect() {
      const s = await summary();
      for (const [presence, n] of Object.entries(s.byPresence)) this.set({ presence }, n);
    },
  });
  new Gauge({
    name: 'fleet_devices_revoked',
    help: 'Registered devices that are revoked.',
    registers: [registry],
    async collect() {
      this.set((await summary()).revoked);
    },
  });
}
