// The policy step (docs/protocol.md#policy): the directive's policy from
// protocol/, combined with an optional device-local maintenance window. Pure.
import { decidePolicy, type Consent, type Policy, type PolicyDecision } from '../../protocol/index.js';

export interface LocalWindow {
  readonly start: string;
  readonly end: string;
}

/**
 * Both windows must be open; a forced update past its deadline ignores both (docs/protocol.md#policy:
 * forced ignores consent but not the window unless past the deadline).
 */
export function decideInstall(policy: Policy, nowSeconds: number, consent: Consent, localWindow?: LocalWindow): PolicyDecision {
  const remote = decidePolicy(policy, nowSeconds, consent);
  if (remote !== 'proceed' || !localWindow) return remote;
  return decidePolicy({ mode: policy.mode, ...(policy.deadline ? { deadline: policy.deadline } : {}), window: localWindow }, nowSeconds, consent);
}
