import { defineConfig } from 'vitest/config';

// Integration tests share one real Redis and real sockets; two workers keep a 2-core box responsive.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
    reporters: process.env.CI ? ['default'] : ['default'],
  },
});
