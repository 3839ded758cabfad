import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'services/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    // Each test file runs in its own process: chdb binds one data directory per process.
    pool: 'forks',
    isolate: true,
    globalSetup: ['test/setup/kafka-mock.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
