// Rollout and wave metrics. Per-rollout series (label `rollout`) exist only for rollouts that
// are active or finished in the last few minutes, so their number stays bounded; waves get
// series for the current wave only. Never a device id as a label. Rejections and failures are
// counted where ingestion applies them (event-metrics.ts), not recomputed from stored rollouts.
import { Gauge, type Registry } from 'prom-client';
import { DEVICE_STATES } from '../../protocol/index.js';
import { WAVE_STATUSES } from '../rollouts/model.js';
import type { RolloutSnapshot } from './rollout-snapshot.js';

export function registerRolloutMetrics(registry: Registry, snapshot: () => Promise<RolloutSnapshot>): void {
  new Gauge({
    name: 'fleet_rollouts',
    help: 'Rollouts by status (the newest maxRollouts).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      for (const [status, n] of Object.entries(s.byStatus)) this.set({ status }, n);
    },
  });
  new Gauge({
    name: 'fleet_rollout_devices',
    help: 'Devices of an active (or just finished) rollout, by state.',
    labelNames: ['rollout', 'state'] as const,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const view of s.tracked) {
        for (const state of DEVICE_STATES) this.set({ rollout: view.id, state }, view.counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'fleet_rollout_current_wave',
    help: 'Index (from 0) of the wave an active (or just finished) rollout is on.',
    labelNames: ['rollout'] as const,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const view of s.tracked) this.set({ rollout: view.id }, view.currentWave);
    },
  });
  new Gauge({
    name: 'fleet_wave_devices',
    help: 'Devices of the current wave of an active (or just finished) rollout, by state.',
    labelNames: ['rollout', 'wave', 'state'] as const,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      this.reset();
      for (const view of s.tracked) {
        const wave = view.waves[view.currentWave];
        if (!wave) continue;
        for (const state of DEVICE_STATES) this.set({ rollout: view.id, wave: String(wave.index), state }, wave.counts[state] ?? 0);
      }
    },
  });
  new Gauge({
    name: 'fleet_waves',
    help: 'Waves of the active (or just finished) rollouts, by wave status.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const s = await snapshot();
      const counts = Object.fromEntries(WAVE_STATUSES.map((w) => [w, 0])) as Record<string, number>;
      for (const view of s.tracked) for (const wave of view.waves) counts[wave.status] = (counts[wave.status] ?? 0) + 1;
      for (const [status, n] of Object.entries(counts)) this.set({ status }, n);
    },
  });
}
