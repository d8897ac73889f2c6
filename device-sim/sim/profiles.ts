// Simulated device profiles and how a fleet is split between them: "healthy",
// "healthy:90,install-failure:10", or the "mixed" preset. Assignment is exact (largest
// remainder) and deterministic for a seed.
import { AgentError } from '../agent/errors.js';
import { seededRandom, shuffle } from './rng.js';

export const PROFILES = [
  'healthy',
  'slow-network',
  'flaky-network',
  'download-failure',
  'install-failure',
  'health-check-failure',
  'offline-then-back',
  'declines-optional',
  'window-closed',
  'clock-skew',
] as const;
export type Profile = (typeof PROFILES)[number];

/** Percent per profile; the shares add up to 100. */
export type ProfileMix = ReadonlyArray<readonly [Profile, number]>;

/** Something of everything, mostly healthy: the demo fleet. */
export const MIXED_PRESET: ProfileMix = [
  ['healthy', 60],
  ['slow-network', 8],
  ['flaky-network', 6],
  ['download-failure', 3],
  ['install-failure', 3],
  ['health-check-failure', 3],
  ['offline-then-back', 6],
  ['declines-optional', 4],
  ['window-closed', 4],
  ['clock-skew', 3],
];

/** A profile mix that does not parse: the agent's error family (agent/errors.ts), code `invalid_profile`. */
export class ProfileError extends AgentError {
  constructor(message: string) {
    super('invalid_profile', message);
    this.name = 'ProfileError';
  }
}

function isProfile(name: string): name is Profile {
  return (PROFILES as readonly string[]).includes(name);
}

/** Parses `mixed`, `healthy`, or `name:percent,...` (percentages must add up to 100). */
export function parseProfileMix(spec: string): ProfileMix {
  const text = spec.trim();
  if (text === 'mixed') return MIXED_PRESET;
  if (isProfile(text)) return [[text, 100]];
  const mix: Array<[Profile, number]> = [];
  for (const part of text.split(',')) {
    const match = /^\s*([a-z-]+)\s*:\s*(\d{1,3}(?:\.\d+)?)\s*$/.exec(part);
    if (!match || !isProfile(match[1]!)) throw new ProfileError(`bad profile "${part.trim()}": expected one of ${PROFILES.join(', ')} with :percent`);
    if (mix.some(([p]) => p === match[1])) throw new ProfileError(`profile ${match[1]} given twice`);
    mix.push([match[1] as Profile, Number(match[2])]);
  }
  const total = mix.reduce((sum, [, share]) => sum + share, 0);
  if (Math.abs(total - 100) > 1e-9) throw new ProfileError(`profile shares add up to ${total}, not 100`);
  return mix;
}

/** Exactly `count` profiles in the mix's proportions, shuffled by `seed`. */
export function assignProfiles(count: number, mix: ProfileMix, seed: number): Profile[] {
  const exact = mix.map(([profile, share]) => ({ profile, exact: (count * share) / 100 }));
  const counts = exact.map((e) => ({ ...e, n: Math.floor(e.exact) }));
  let missing = count - counts.reduce((sum, c) => sum + c.n, 0);
  // Largest remainder, ties in the mix's order.
  for (const c of [...counts].sort((a, b) => (b.exact - b.n) - (a.exact - a.n))) {
    if (missing <= 0) break;
    c.n++;
    missing--;
  }
  const out: Profile[] = [];
  for (const c of counts) for (let i = 0; i < c.n; i++) out.push(c.profile);
  return shuffle(out, seededRandom(seed));
}
