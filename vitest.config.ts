import { defineConfig } from 'vitest/config';

const shared = {
  globalSetup: ['test/helpers/global-setup.ts'],
  testTimeout: 300_000,
  hookTimeout: 300_000,
};

export default defineConfig({
  test: {
    // Each file starts its own dev server; two cores fit two files at a time.
    maxWorkers: 2,
    projects: [
      // The fast lane: pure unit tests, and the loop against a scripted model on a dev server.
      { test: { name: 'fast', include: ['test/unit/**/*.test.ts', 'test/loop/**/*.test.ts'], ...shared } },
      // End to end: the real SDK against the simulator, child-process workers, PostgreSQL, crashes.
      { test: { name: 'e2e', include: ['test/*.test.ts'], ...shared } },
    ],
  },
});
