// SSE framing and stream-id helpers (pure).
import { describe, expect, it } from 'vitest';
import { compareStreamIds, formatSseComment, formatSseMessage, formatSseRetry, isStreamId } from '../../../orchestrator/events/sse-format.js';
import { redactQueryToken } from '../../../runtime/logger.js';

describe('sse-format', () => {
  it('frames one message per event, JSON on one data line, id optional', () => {
    expect(formatSseMessage({ type: 'x', text: 'a\nb' }, '1-0')).toBe('id: 1-0\ndata: {"type":"x","text":"a\\nb"}\n\n');
    expect(formatSseMessage({ type: 'stream.gap' })).toBe('data: {"type":"stream.gap"}\n\n');
    expect(formatSseComment('heart\nbeat')).toBe(': heart beat\n\n');
    expect(formatSseRetry(2500.7)).toBe('retry: 2500\n\n');
  });

  it('orders stream ids numerically beyond 2^53 and validates them', () => {
    expect(compareStreamIds('10-0', '9-5')).toBe(1);
    expect(compareStreamIds('9-5', '9-10')).toBe(-1);
    expect(compareStreamIds('18446744073709551615-1', '18446744073709551615-0')).toBe(1);
    expect(compareStreamIds('5-5', '5-5')).toBe(0);
    expect(isStreamId('1795491040580-0')).toBe(true);
    for (const bad of ['', '1', '1-', '-1', '1-0-0', 'a-0', '1-0\n', 5]) expect(isStreamId(bad)).toBe(false);
  });

  it('redacts token query parameters for logs, and only them', () => {
    expect(redactQueryToken('/v1/events?token=fota_abc&rollout=r1')).toBe('/v1/events?token=[redacted]&rollout=r1');
    expect(redactQueryToken('/v1/events?rollout=r1&token=fota_abc')).toBe('/v1/events?rollout=r1&token=[redacted]');
    expect(redactQueryToken('/v1/events?mytoken=x&rollout=r1')).toBe('/v1/events?mytoken=x&rollout=r1');
  });
});
