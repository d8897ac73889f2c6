// When a rollout may notify devices (docs/design.md#schedules-and-rates): its scheduled start and
// end, its maintenance windows (cron + duration + time zone, hawkBit's model) and its rate (a
// constant cap or AWS IoT Jobs' exponential ramp). Pure: the caller passes `now`; cron arithmetic
// is croner's (time zones and DST included), never hand-written.
import { Cron } from 'croner';

/** One maintenance window: it opens at every occurrence of `cron` in `timeZone` and lasts `durationMinutes`. */
export interface MaintenanceWindow {
  cron: string;
  durationMinutes: number;
  timeZone: string;
}

export interface ScheduleSpec {
  /** Epoch seconds: no device is notified before it. */
  startAt?: number;
  /** Epoch seconds: no device is notified at or after it; the devices still queued then are canceled (`ended`). */
  endAt?: number;
  windows?: readonly MaintenanceWindow[];
}

/** Where a rollout stands against its schedule at an instant. */
export type ScheduleGate =
  | { state: 'open'; closesAt?: number }
  | { state: 'before_start' | 'outside_window'; opensAt?: number }
  | { state: 'ended' };

/** The problem with a window's cron or time zone, or undefined if croner accepts both. */
export function windowProblem(window: Pick<MaintenanceWindow, 'cron' | 'timeZone'>): string | undefined {
  try {
    // RangeError for a name the runtime's time zone database does not know.
    new Intl.DateTimeFormat('en', { timeZone: window.timeZone });
  } catch {
    return `unknown time zone ${JSON.stringify(window.timeZone)} (an IANA name such as Europe/Berlin, or UTC)`;
  }
  try {
    const cron = new Cron(window.cron, { timezone: window.timeZone });
    if (cron.nextRun(new Date(0)) === null) return `cron ${JSON.stringify(window.cron)} never fires`;
  } catch (error) {
    return `cron ${JSON.stringify(window.cron)}: ${(error as Error).message}`;
  }
  return undefined;
}

function cronOf(window: MaintenanceWindow): Cron {
  return new Cron(window.cron, { timezone: window.timeZone });
}

/**
 * Whether `nowSeconds` is inside one of `windows`, and when that changes. A window that opened
 * at occurrence t covers [t, t + duration): `now` is inside iff the first occurrence after
 * now - duration is at or before now.
 */
export function windowsAt(windows: readonly MaintenanceWindow[], nowSeconds: number): { open: true; closesAt: number } | { open: false; opensAt?: number } {
  const now = nowSeconds * 1000;
  let closesAt: number | undefined;
  let opensAt: number | undefined;
  for (const window of windows) {
    const cron = cronOf(window);
    const durationMs = window.durationMinutes * 60_000;
    // nextRun is strictly after its argument: an occurrence at exactly now - duration has closed.
    const opened = cron.nextRun(new Date(now - durationMs))?.getTime();
    if (opened !== undefined && opened <= now) {
      closesAt = Math.max(closesAt ?? 0, opened + durationMs);
    } else if (opened !== undefined) {
      opensAt = Math.min(opensAt ?? Infinity, opened);
    }
  }
  if (closesAt !== undefined) return { open: true, closesAt: Math.ceil(closesAt / 1000) };
  return opensAt === undefined ? { open: false } : { open: false, opensAt: Math.ceil(opensAt / 1000) };
}

/** Whether the rollout may notify at `nowSeconds`: start, end and windows together. */
export function scheduleGate(schedule: ScheduleSpec | undefined, nowSeconds: number): ScheduleGate {
  if (!schedule) return { state: 'open' };
  if (schedule.endAt !== undefined && nowSeconds >= schedule.endAt) return { state: 'ended' };
  if (schedule.startAt !== undefined && nowSeconds < schedule.startAt) return { state: 'before_start', opensAt: schedule.startAt };
  if (!schedule.windows || schedule.windows.length === 0) return schedule.endAt === undefined ? { state: 'open' } : { state: 'open', closesAt: schedule.endAt };
  const at = windowsAt(schedule.windows, nowSeconds);
  if (at.open) return { state: 'open', closesAt: schedule.endAt === undefined ? at.closesAt : Math.min(at.closesAt, schedule.endAt) };
  if (at.opensAt === undefined || (schedule.endAt !== undefined && at.opensAt >= schedule.endAt)) return { state: 'outside_window' };
  return { state: 'outside_window', opensAt: at.opensAt };
}

// ---- rate --------------------------------------------------------------------------------

/** AWS IoT Jobs' exponentialRate: start at basePerMinute, multiply by incrementFactor every `increaseEvery` devices. */
export interface ExponentialRate {
  basePerMinute: number;
  incrementFactor: number;
  /** The count that raises the rate: every `notified` devices notified, or every `succeeded` devices succeeded. */
  increaseEvery: { notified: number } | { succeeded: number };
}

export interface RateSpec {
  /** The ceiling, devices notified per minute (the constant cap without `exponential`). */
  maxPerMinute: number;
  exponential?: ExponentialRate;
}

/** Devices per minute allowed now, given the rollout's notified and succeeded counts. */
export function currentRate(rate: RateSpec, progress: { notified: number; succeeded: number }): number {
  const ramp = rate.exponential;
  if (!ramp) return rate.maxPerMinute;
  const steps = 'notified' in ramp.increaseEvery
    ? Math.floor(progress.notified / ramp.increaseEvery.notified)
    : Math.floor(progress.succeeded / ramp.increaseEvery.succeeded);
  // Capped before the power overflows: past the ceiling more steps change nothing.
  const maxSteps = Math.ceil(Math.log(rate.maxPerMinute / ramp.basePerMinute) / Math.log(ramp.incrementFactor));
  return Math.min(rate.maxPerMinute, Math.floor(ramp.basePerMinute * ramp.incrementFactor ** Math.min(steps, Math.max(0, maxSteps))));
}

/** Devices per notify slice under `rate`: a second's worth at the starting rate, so no slice is a burst. */
export function sliceSizeFor(rate: RateSpec, maxSlice: number): number {
  const starting = rate.exponential ? rate.exponential.basePerMinute : rate.maxPerMinute;
  return Math.max(1, Math.min(maxSlice, Math.floor(starting / 60)));
}

/**
 * The planned delay (ms) of each of `slices` slices of `sliceSize` devices, `notified` devices of
 * the rollout notified before them: when each would be due if every notified device also
 * succeeded at once. It is the earliest the ramp could allow; the pacer (the state layer's
 * `pace`) holds a slice that comes due before the actual counts allow it.
 */
export function plannedDelays(rate: RateSpec, slices: number, sliceSize: number, notified: number): number[] {
  const delays: number[] = [];
  let at = 0;
  for (let slice = 0; slice < slices; slice++) {
    delays.push(Math.floor(at));
    const done = notified + slice * sliceSize;
    at += (sliceSize * 60_000) / currentRate(rate, { notified: done, succeeded: done });
  }
  return delays;
}
