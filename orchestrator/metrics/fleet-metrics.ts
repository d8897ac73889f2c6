// Fleet gauges from the registry's fleet summary (orchestrator/registry/fleet-summary.ts): devices
// by presence and revoked, read from the counters the device-changing scripts keep (16 small
// hashes a scrape, not a pass over the devices).
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
