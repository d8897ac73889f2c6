import { defineConfig } from 'vitest/config';

// Integration tests share one real Redis and real sockets; two workers keep a 2-core box responsive.
// Timeouts are a loaded machine's (CI may run beside other work): a hang still fails, slowness does not.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
