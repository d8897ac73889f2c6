// Profile mixes: parsing, exact and deterministic assignment.
import { describe, expect, it } from 'vitest';
import { assignProfiles, MIXED_PRESET, parseProfileMix, PROFILES } from '../../../device-sim/sim/profiles.js';
import { deviceIds } from '../../../device-sim/sim/provision.js';
import { windowOpeningLater } from '../../../device-sim/sim/device-kit.js';

describe('profiles', () => {
  it('parses a single profile, a mix and the mixed preset; refuses bad ones with invalid_profile', () => {
    expect(parseProfileMix('healthy')).toEqual([['healthy', 100]]);
    expect(parseProfileMix('healthy:90, install-failure:10')).toEqual([['healthy', 90], ['install-failure', 10]]);
    expect(parseProfileMix('mixed')).toBe(MIXED_PRESET);
    expect(MIXED_PRESET.reduce((s, [, n]) => s + n, 0)).toBe(100);
    expect(MIXED_PRESET.map(([p]) => p).sort()).toEqual([...PROFILES].sort());
    for (const bad of ['healthy:90', 'sick:100', 'healthy:50,healthy:50', 'healthy:x', '']) {
      expect(() => parseProfileMix(bad), bad).toThrow(expect.objectContaining({ code: 'invalid_profile' }));
    }
  });

  it('assigns exact counts, deterministically for a seed', () => {
    const mix = parseProfileMix('healthy:33.4,install-failure:33.3,clock-skew:33.3');
    const a = assignProfiles(1000, mix, 7);
    expect(a.filter((p) => p === 'healthy')).toHaveLength(334);
    expect(a.filter((p) => p === 'install-failure')).toHaveLength(333);
    expect(assignProfiles(1000, mix, 7)).toEqual(a);
    expect(assignProfiles(1000, mix, 8)).not.toEqual(a);
    expect(assignProfiles(3, parseProfileMix('healthy:50,clock-skew:50'), 1)).toHaveLength(3);
  });

  it('names devices with zero-padded indexes', () => {
    expect(deviceIds(3, 'sim-')).toEqual(['sim-00000', 'sim-00001', 'sim-00002']);
    expect(deviceIds(200_000, 'x')[199_999]).toBe('x199999');
  });

  it('opens the window-closed window on the next whole minute after the delay', () => {
    const noon = Date.UTC(2026, 10, 24, 12, 0, 30) / 1000;
    expect(windowOpeningLater(noon, 120, 60)).toEqual({ start: '12:03', end: '13:03' });
    expect(windowOpeningLater(Date.UTC(2026, 10, 24, 23, 30) / 1000, 0, 60)).toEqual({ start: '23:30', end: '00:30' });
  });
});
