// The memory half of the Redis watch: INFO memory parsed as Redis prints it (CRLF lines).
import { describe, expect, it } from 'vitest';
import { parseMemoryInfo } from '../../../orchestrator/infra/redis-policy-watch.js';

describe('parseMemoryInfo', () => {
  it('reads used_memory and maxmemory, not their look-alikes', () => {
    const info = '# Memory\r\nused_memory:11215248\r\nused_memory_human:10.70M\r\nused_memory_rss:20000000\r\nmaxmemory:10168224\r\nmaxmemory_human:9.70M\r\nmaxmemory_policy:noeviction\r\n';
    expect(parseMemoryInfo(info)).toEqual({ used: 11_215_248, max: 10_168_224 });
  });

  it('gives maxmemory 0 (no limit) as 0, and nothing for a reply without the fields', () => {
    expect(parseMemoryInfo('used_memory:5\nmaxmemory:0\n')).toEqual({ used: 5, max: 0 });
    expect(parseMemoryInfo('# Memory\r\n')).toBeUndefined();
  });
});
