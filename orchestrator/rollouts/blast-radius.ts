// The blast-radius bound of a rollout (docs/design.md#blast-radius): the largest number of
// devices that can install a release that fails on them before the rollout's failure signal
// stops it. Pure: derived from the planned wave sizes, each wave's failure threshold and the
// spec's maxInFlight; the engine enforces it by admitting a device only while fewer than
// maxInFlight are in flight and the wave's threshold is not crossed (state/rollouts/scripts.ts admitSlice).

/** What the bound is derived from. */
export interface BlastRadiusInput {
  /** Devices per wave, in order. */
  waveSizes: readonly number[];
  /** Each wave's failureThreshold (a fraction; strictly above it trips the failure action). */
  failureThresholds: readonly number[];
  /** The most devices in flight at once; undefined = a whole wave may be in flight. */
  maxInFlight?: number;
}

export interface BlastRadius {
  /** The bound: no more devices than this can end up having installed a release that fails on them. */
  bound: number;
  /** The wave whose failure gives the bound (0-based). */
  worstWave: number;
  /** Per wave: failures it may absorb without tripping, and the bound if the release first fails there. */
  waves: Array<{ allowedFailures: number; bound: number }>;
  /** One line saying how the bound was derived. */
  basis: string;
}

/**
 * The most failures a wave of `size` devices absorbs without tripping: the largest f with
 * f / size not above `threshold`, by the same division decide.ts makes (floating point
 * included, so 0.29 × 100 allows 29, not the 28 a bare floor of 28.999… would give).
 */
export function allowedFailures(size: number, threshold: number): number {
  const divisor = Math.max(1, size);
  let f = Math.min(size, Math.max(0, Math.floor(threshold * divisor)));
  while (f < size && (f + 1) / divisor <= threshold) f++;
  while (f > 0 && f / divisor > threshold) f--;
  return f;
}

/**
 * A release first failing in wave k: the earlier waves were promoted, so each had at most its
 * allowed failures; in wave k the engine admits devices only while its failures are at most its
 * allowed ones and fewer than maxInFlight are in flight, so at most allowed + maxInFlight of its
 * devices ever hold the release (and never more than the wave). The bound is the worst k.
 * It holds while the operator lets the thresholds act: resuming a rollout a threshold paused
 * overrides that wave's threshold (engine.ts resume), and with it the bound.
 */
export function blastRadius(input: BlastRadiusInput): BlastRadius {
  const { waveSizes, failureThresholds, maxInFlight } = input;
  const waves: BlastRadius['waves'] = [];
  let earlier = 0;
  let bound = 0;
  let worstWave = 0;
  waveSizes.forEach((size, k) => {
    const allowed = allowedFailures(size, failureThresholds[k] ?? 0);
    const inWave = maxInFlight === undefined ? size : Math.min(size, allowed + maxInFlight);
    const waveBound = earlier + inWave;
    waves.push({ allowedFailures: allowed, bound: waveBound });
    if (waveBound > bound) {
      bound = waveBound;
      worstWave = k;
    }
    earlier += allowed;
  });
  const basis = maxInFlight === undefined
    ? `no maxInFlight: a whole wave may install before its failures count; worst is wave ${worstWave + 1} (${waveSizes[worstWave] ?? 0} devices) after the failures earlier waves may absorb`
    : `at most ${maxInFlight} in flight: wave ${worstWave + 1} absorbs ${waves[worstWave]?.allowedFailures ?? 0} failures before its threshold trips, plus ${maxInFlight} in flight, after the failures earlier waves may absorb`;
  return { bound, worstWave, waves, basis };
}
