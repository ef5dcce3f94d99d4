import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      '{packages,services,operators}/*/src/**/*.test.ts',
      'bench/src/**/*.test.ts',
      'scripts/**/*.test.ts',
    ],
    globalSetup: ['packages/devstack/src/testing/global-setup.ts'],
    // Integration tests talk to real servers; these bound a hung dependency, they are not perf checks.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', './scripts/vitest-summary-reporter.ts'],
    // Guard against focused tests sneaking into main.
    allowOnly: false,
  },
});
