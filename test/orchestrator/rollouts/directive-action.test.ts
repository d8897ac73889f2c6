import { describe, expect, it } from 'vitest';
import { directiveAction, type DirectiveActionInput } from '../../../orchestrator/rollouts/directive-action.js';

const TTL = 1_000;
function at(state: string, nowSeconds: number, issuedAt: number | undefined = 0, counter = 7): DirectiveActionInput {
  return { entry: { state, wave: 0, counter, progress: 0, reason: '' }, issuedAt, ttlSeconds: TTL, nowSeconds, renewFraction: 0.25 };
}

describe('directiveAction', () => {
  it('owes nothing to queued, settled or unknown devices', () => {
    for (const state of ['queued', 'succeeded', 'failed', 'rejected', 'timed_out', 'canceled']) expect(directiveAction(at(state, 10))).toBe('none');
    expect(directiveAction({ ...at('notified', 10), entry: undefined })).toBe('none');
    expect(directiveAction(at('notified', 10, 0, 0))).toBe('none');
  });
  it('republishes a valid directive byte-identical, whatever step the device is at', () => {
    for (const state of ['notified', 'deferred', 'accepted', 'downloading', 'installing', 'rebooting']) expect(directiveAction(at(state, 10))).toBe('republish');
  });
  it('renews a directive in its last quarter, or expired, for a device that has not started', () => {
    expect(directiveAction(at('notified', 749))).toBe('republish');
    expect(directiveAction(at('notified', 750))).toBe('reissue');
    expect(directiveAction(at('deferred', 5_000))).toBe('reissue');
  });
  it('never resends an expired directive to a device that started, and does not restart its job', () => {
    expect(directiveAction(at('downloading', 999))).toBe('republish');
    expect(directiveAction(at('downloading', 1_000))).toBe('none');
  });
  it('reissues when the issue time is unknown only if the device has not started', () => {
    expect(directiveAction({ ...at('notified', 10), issuedAt: undefined })).toBe('reissue');
    expect(directiveAction({ ...at('installing', 10), issuedAt: undefined })).toBe('none');
  });
});
