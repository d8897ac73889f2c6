// Terminal picture of a rollout: one bar per wave (succeeded / failed / in flight), counts by
// state and failure reasons. Used by `fleet-ota rollouts watch` and the demo. Waves are shown
// numbered from 1 (the API's `index` is 0-based), like `rollouts list` and the dashboard.
// Drawn here rather than with cli-progress (which the CLI's byte bars use): a wave's bar stacks
// four states (succeeded, failed, in flight, not yet notified) where cli-progress fills one, and
// the frame is also the plain text written when stdout is not a terminal (logs, CI, tests),
// which cli-progress does not print; the redraw is one cursor-up escape (frameWriter).
import type { RolloutView, StateCounts } from '../orchestrator/rollouts/model.js';
import { failedCount } from '../protocol/states.js';

const BAR_WIDTH = 30;

/** A bar of `width` cells: '#' succeeded, 'x' failed, '-' in flight, '.' not yet notified. */
export function waveBar(counts: StateCounts, size: number, width = BAR_WIDTH): string {
  if (size === 0) return ' '.repeat(width);
  const ok = counts.succeeded ?? 0;
  const bad = failedCount(counts) + (counts.canceled ?? 0);
  const queued = counts.queued ?? 0;
  const cells = (n: number) => Math.round((n / size) * width);
  const okCells = cells(ok);
  const badCells = Math.min(width - okCells, cells(bad));
  const queuedCells = Math.min(width - okCells - badCells, cells(queued));
  return '#'.repeat(okCells) + 'x'.repeat(badCells) + '-'.repeat(width - okCells - badCells - queuedCells) + '.'.repeat(queuedCells);
}

function countsText(counts: StateCounts): string {
  return Object.entries(counts).filter(([, n]) => (n ?? 0) > 0).map(([s, n]) => `${s} ${n}`).join(', ') || '-';
}

/** Lines describing the rollout now; `color` adds ANSI colors for terminals. */
export function renderRollout(view: RolloutView, color = false): string[] {
  const paint = (code: number, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const statusColor = view.status === 'completed' ? 32 : view.status === 'aborted' ? 31 : view.status === 'paused' ? 33 : 36;
  const lines = [`rollout ${view.id}  release ${view.releaseId}  ${paint(statusColor, view.status)}${view.statusReason ? ` (${view.statusReason})` : ''}`];
  for (const wave of view.waves) {
    const marker = wave.index === view.currentWave && view.status !== 'completed' ? '>' : ' ';
    const done = (wave.counts.succeeded ?? 0) + failedCount(wave.counts) + (wave.counts.canceled ?? 0);
    lines.push(`${marker} wave ${wave.index + 1} [${waveBar(wave.counts, wave.size)}] ${String(done).padStart(6)}/${String(wave.size).padEnd(6)} ${wave.status.padEnd(17)} ${countsText(wave.counts)}`);
  }
  const reasons = Object.entries(view.reasons);
  if (reasons.length > 0) lines.push(`  reasons: ${reasons.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  if (view.spec.dynamic && !isFinished(view)) {
    // docs/design.md#dynamic-rollouts: say how it ends, since it does not end by itself.
    lines.push(`  dynamic: devices that come to match the target join wave ${view.waves.length}; \`fleet-ota rollouts approve ${view.id}\` closes it once that wave waits for approval`);
  }
  return lines;
}

/** Redraws `lines` in place on a TTY (moves the cursor up over the previous frame). */
export function frameWriter(stream: NodeJS.WriteStream): (lines: string[]) => void {
  let previous = 0;
  return (lines) => {
    if (stream.isTTY && previous > 0) stream.write(`\u001b[${previous}F\u001b[J`);
    stream.write(`${lines.join('\n')}\n`);
    previous = stream.isTTY ? lines.length : 0;
  };
}

export function isFinished(view: RolloutView): boolean {
  return view.status === 'completed' || view.status === 'aborted';
}
